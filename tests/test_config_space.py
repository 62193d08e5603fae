"""Property test over the config space: every `rl2 train` input either runs or is refused in one line, exit 2."""

import contextlib
import io
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rl2.cli import main

def mostly(valid, invalid):
    """Valid values most of the time, so that accepted configs are explored as well as refused ones."""
    # Hypothesis favours boundary values such as 0, so the invalid branch sits at an inner index.
    return st.integers(0, 19).flatmap(lambda i: invalid if i == 7 else valid)


@st.composite
def train_argv(draw):
    family = draw(mostly(st.sampled_from(["bandit", "mdp"]), st.just("pomdp")))
    n, k = draw(mostly(st.integers(1, 4), st.integers(-1, 0))), draw(mostly(st.integers(2, 5), st.integers(-1, 1)))
    horizon = draw(mostly(st.integers(1, 3), st.integers(-1, 0)))
    states = draw(mostly(st.integers(1, 4), st.integers(-1, 0)))
    actions = draw(mostly(st.integers(2, 4), st.integers(-1, 1)))
    trials = draw(st.integers(1, 6))
    episode = 1 if family == "bandit" else max(horizon, 1)
    steps = draw(mostly(st.just(max(n, 1) * episode * trials), st.integers(-5, 60)))
    # Each family's own flags; now and then one of the other family's, which is refused
    own = {"bandit": ["--k", str(k)],
           "mdp": ["--horizon", str(horizon), "--states", str(states), "--actions", str(actions)]}
    foreign = own["mdp" if family == "bandit" else "bandit"]
    task_flags = own.get(family, []) + draw(mostly(st.just([]), st.just(foreign[:2])))
    argv = ["train", "--family", family, "--n", str(n), *task_flags, "--steps-per-update", str(steps),
            "--total-steps", str(draw(mostly(st.just(max(steps, 1)), st.integers(-2, 30)))),
            "--minibatches", str(draw(mostly(st.sampled_from([1, trials]), st.integers(-1, 7)))),
            "--epochs", str(draw(mostly(st.integers(1, 2), st.integers(-1, 0)))),
            "--hidden", str(draw(mostly(st.integers(1, 8), st.integers(-2, 0)))),
            "--rnn", draw(mostly(st.sampled_from(["gru", "lstm"]), st.just("rnn"))),
            "--device", draw(mostly(st.sampled_from(["cpu", "auto"]), st.sampled_from(["cuda", "tpu"])))]
    bad_numbers = st.one_of(st.floats(-2.0, 0.0), st.floats(1.0, 3.0), st.sampled_from(["nan", "inf", "-inf", "x"]))
    for flag, valid in (("--lr", st.floats(1e-5, 1e-2)), ("--gamma", st.floats(0.01, 1.0)), ("--lam", st.floats(0, 1)),
                        ("--clip", st.floats(0.01, 0.9)), ("--ent-coef", st.floats(0, 0.1)),
                        ("--max-grad-norm", st.floats(0.01, 5.0))):
        if draw(st.booleans()):
            argv += [flag, str(draw(mostly(valid, bad_numbers)))]
    if draw(st.booleans()):
        argv += ["--norm-adv", draw(mostly(st.sampled_from(["true", "false"]), st.just("maybe")))]
    return argv


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=train_argv())
def test_every_input_runs_one_update_or_is_refused_in_one_line(tmp_path_factory, argv):
    run_dir = Path(tmp_path_factory.mktemp("run"))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*argv, "--run-dir", str(run_dir / "r"), "--eval-trials", "3", "--threads", "1",
                     "--no-progress", "--no-baselines"])
    event(f"exit {code}")
    if code == 0:
        rows = (run_dir / "r" / "metrics.csv").read_text().splitlines()
        assert len(rows) >= 2, "an accepted config must run at least one update"
        assert "mean total reward per trial" in out.getvalue()
    else:
        assert code == 2, (argv, err.getvalue())
        lines = err.getvalue().strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in err.getvalue(), lines
        assert not (run_dir / "r").exists(), "a refused input must write nothing"
