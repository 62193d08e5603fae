"""Run by tests/test_distributed.py under torchrun (2 ranks, gloo): checks rl2.distributed from the
inside and writes what each rank saw to OUT_DIR/rank-R.json for the test to assert on.

Each rank also trains a single-process Learner on the same global batch in the same process, the
reference its own distributed weights must match. Everything runs in float64, so that the match is
tight (1e-10): a wrong weighting of the ranks' parts would show, float32 rounding (which TRPO's
conjugate gradient amplifies to ~1e-5) would not hide it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from rl2.config import Config
from rl2.distributed import launched
from rl2.learner import Learner
from rl2.train import RunDirError

UPDATES = 3


def max_difference(a: torch.nn.Module, b: torch.nn.Module) -> float:
    return max(float((x.double() - y.double()).abs().max())
               for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def main(out_dir: Path) -> None:
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    config = Config().replace(family="mdp", n=2, states=3, actions=2, horizon=3, hidden=16,
                              steps_per_update=48, minibatches=2, epochs=2, total_steps=48 * UPDATES,
                              target_kl=1e-10)  # so small that every update stops after its first epoch
    with launched() as world:
        report: dict = {"rank": world.rank, "size": world.size}
        single, sharded = Learner(config), Learner(config, world=world)
        local = Learner(config, world=world).collect_local()  # what this rank collects itself
        report["local_trials"] = local.rewards.shape[1]
        # The ranks' local column counts, summed over the ranks: the global batch.
        counts = world.gather_columns(torch.tensor([[report["local_trials"]]]))
        report["sum_of_local_trials"] = int(counts.sum())
        rollout, reference = sharded.collect(), single.collect()
        report["global_trials"] = rollout.rewards.shape[1]
        mine = world.shard(config.trials_per_update)
        report["own_columns_are_local_rollout"] = bool(torch.equal(rollout.actions[:, mine], local.actions))
        report["rollout_actions_equal"] = bool(torch.equal(rollout.actions, reference.actions))
        report["rollout_max_logprob_difference"] = float((rollout.logprobs - reference.logprobs).abs().max())
        for _ in range(UPDATES):
            result, expected = sharded.iterate(), single.iterate()
        report["max_param_difference"] = max_difference(sharded.policy, single.policy)
        report["trial_return"] = [result.trial_return, expected.trial_return]
        report["approx_kl"] = [result.stats.approx_kl, expected.stats.approx_kl]
        report["epochs"] = [result.stats.epochs, expected.stats.epochs]
        report["generators_equal"] = bool(torch.equal(sharded.rollout_generator.get_state(),
                                                      single.rollout_generator.get_state()))
        # TRPO: gradient, Fisher-vector products (on an uneven 2 + 1 split of 3 trials) and line search.
        trpo = config.replace(algo="trpo", critic="separate", fisher_fraction=0.375)
        single, sharded_trpo = Learner(trpo), Learner(trpo, world=world)
        for _ in range(UPDATES):
            result, expected = sharded_trpo.iterate(), single.iterate()
        report["trpo_max_param_difference"] = max_difference(sharded_trpo.policy, single.policy)
        report["trpo_approx_kl"] = [result.stats.approx_kl, expected.stats.approx_kl]
        params = list(sharded.policy.parameters())
        report["in_step"] = world.in_step(params)
        nudged = [p.detach() + (1e-6 if world.rank == 1 and i == 0 else 0.0) for i, p in enumerate(params)]
        report["in_step_after_nudging_rank_1"] = world.in_step(nudged)

        def fail_on_main() -> None:
            raise RunDirError("rank 0 could not create the run directory")

        try:
            world.on_main(fail_on_main)
            report["error_from_rank_0"] = None
        except RunDirError as e:
            report["error_from_rank_0"] = str(e)
    (out_dir / f"rank-{report['rank']}.json").write_text(json.dumps(report))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
