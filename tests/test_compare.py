"""RL² runs beside the classic baselines on the same held-out tasks, and the paper's tables."""

import torch

import rl2.paper
from rl2 import RL2
from rl2.cli import main
from rl2.compare import Row, compare_baselines, format_table, paper_tables
from rl2.evaluate import EvalResult
from rl2.families.bandit import BanditConfig
from rl2.families.mdp import MDPConfig


def test_compare_lists_every_baseline_and_the_run(tmp_path, capsys):
    model = RL2("bandit-n10-k5", hidden=8, steps_per_update=100, minibatches=2, total_steps=100)
    model.learn()
    model.save(tmp_path / "model.pt")
    assert main(["compare", "bandit", "--n", "10", "--k", "5", "--tasks", "200",
                 "--runs", str(tmp_path / "model.pt")]) == 0
    out = capsys.readouterr().out
    for name in ("Random", "Greedy", "ε-Greedy", "UCB1", "TS", "OTS", "Gittins", "Bayes-optimal", "RL² ("):
        assert f"| {name}" in out, name
    assert "RL² (" in out and "the best classic method here, paired over the same 200 tasks" in out
    assert main(["compare", "bandit", "--n", "100", "--tasks", "10", "--runs", str(tmp_path / "model.pt")]) == 2
    assert "trained on another setting" in capsys.readouterr().err


def test_baselines_see_the_same_tasks_as_the_agent_and_rank_as_expected():
    rows = {r.name: r.mean_ci[0] for r in compare_baselines(BanditConfig(n=10, k=5), trials=2000, seed=5)}
    assert abs(rows["Random"] - 5.0) < 0.2
    assert rows["Bayes-optimal"] > rows["TS"] > rows["Random"]  # the exact optimum tops the heuristics
    mdp = {r.name: r.mean_ci[0] for r in compare_baselines(MDPConfig(n=10), trials=300, seed=5)}
    assert mdp["PSRL"] > mdp["Random"] + 20


def test_paper_tables_put_measured_cells_beside_published_ones(monkeypatch):
    monkeypatch.setattr(rl2.paper, "TABLE1", {(10, 5): rl2.paper.TABLE1[(10, 5)]})
    monkeypatch.setattr(rl2.paper, "TABLE2", {10: rl2.paper.TABLE2[10]})
    model = RL2("bandit-n10-k5", hidden=8, steps_per_update=100, minibatches=2, total_steps=100)
    text = paper_tables(tasks=50, seed=3, runs=[("run", model)])
    bandit_row = next(line for line in text.splitlines() if line.startswith("| n=10, k=5"))
    mdp_row = next(line for line in text.splitlines() if line.startswith("| n=10 |"))
    assert bandit_row.count("(") == 8 and "(6.6)" in bandit_row and "missing" not in bandit_row
    assert "(156.2)" in mdp_row and "missing (156.2)" in mdp_row  # no MDP run given
    assert "RL² agents: n=10, k=5: run." in text and "RL² agents: none given." in text  # each cell names its agent


def test_compare_takes_a_shipped_agent_by_name(capsys):
    assert main(["compare", "bandit", "--n", "10", "--k", "5", "--tasks", "50", "--runs", "zoo:bandit-n10-k5"]) == 0
    assert "| RL² (zoo:bandit-n10-k5)" in capsys.readouterr().out
    assert main(["compare", "bandit", "--n", "10", "--k", "5", "--tasks", "50", "--runs", "zoo:no-such-agent"]) == 2
    assert "no agent 'no-such-agent' in the zoo" in capsys.readouterr().err


def test_the_agent_is_set_against_the_best_classic_method_task_by_task():
    # Tasks differ far more than the methods do (a shared difficulty of spread 10 per task), and the
    # agent scores 0.5 more than the rival on every task, give or take 0.1. Side by side, the two
    # unpaired intervals (about ±0.62 each) overlap; paired task by task, the lead of 0.5 stands out.
    generator = torch.Generator().manual_seed(0)
    difficulty = 10 * torch.randn(1000, generator=generator)
    rival = difficulty
    agent = difficulty + 0.5 + 0.1 * torch.randn(1000, generator=generator)
    rows = [Row("RL² (mine)", EvalResult(episode_returns=agent[:, None]), "agent"),
            Row("UCB1", EvalResult(episode_returns=rival[:, None])),
            Row("Random", EvalResult(episode_returns=rival[:, None] - 3)),
            Row("Oracle (reads the true p)", EvalResult(episode_returns=rival[:, None] + 9), "ceiling")]
    assert rows[0].mean_ci[1] > 0.5 and rows[1].mean_ci[1] > 0.5  # unpaired, the lead is inside both intervals
    verdict = format_table(rows, "t").splitlines()[-1]
    assert verdict.startswith("RL² (mine) against UCB1, the best classic method here")  # the ceiling is no rival
    assert "paired over the same 1,000 tasks: +0.50 ± 0.01 a trial, ahead." in verdict
    rows[0] = Row("RL² (mine)", EvalResult(episode_returns=rival[:, None] - 0.5), "agent")
    assert format_table(rows, "t").endswith("-0.50 ± 0.00 a trial, behind.")
    rows[0] = Row("RL² (mine)", EvalResult(episode_returns=rival[:, None] + torch.randn(1000, 1, generator=generator)),
                  "agent")
    assert format_table(rows, "t").endswith("level (the interval holds 0).")
    baselines_only = format_table(rows[1:], "t")  # no agent: the table alone, no verdict line
    assert "against" not in baselines_only and baselines_only.endswith("|")
