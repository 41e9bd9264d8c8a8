"""The ``simdrive`` command line: train, eval, watch, play and list what is registered.

User errors print one line on stderr and exit with status 2; never a traceback.
"""

from __future__ import annotations

import errno
import functools
import json
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from typer.core import TyperGroup

from simdrive.errors import UserError

EXIT_USER_ERROR = 2


def _error_types() -> tuple[tuple[type, ...], tuple[type, ...]]:
    """Parse errors and aborts of the click that typer runs on (vendored since typer 0.20-ish, or click)."""
    parse: list[type] = [typer.TyperException]
    aborts: list[type] = [typer.Abort]
    try:
        import click

        parse.append(click.ClickException)
        aborts.append(click.exceptions.Abort)
    except ImportError:  # pragma: no cover
        pass
    return tuple(parse), tuple(aborts)


_PARSE_ERRORS, _ABORTS = _error_types()


class OneLineErrors(TyperGroup):
    """The command group: every user error, click's and typer's own parse errors included
    (a bad option value, an unknown option or command), prints one ``error:`` line on
    stderr and exits with status 2; never a usage box or a traceback."""

    def main(self, args: Any = None, prog_name: Any = None, complete_var: Any = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            result = super().main(args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False, **extra)
            code = result if isinstance(result, int) else 0
        except _PARSE_ERRORS as error:
            if type(error).__name__ == "NoArgsIsHelpError":  # `simdrive` alone: the help text
                error.show()
                code = error.exit_code
            else:
                where = getattr(getattr(error, "ctx", None), "command_path", None) or "simdrive"
                typer.echo(f"error: {_one_line(error.format_message())} (see '{where} --help')", err=True)
                code = EXIT_USER_ERROR
        except UserError as error:
            typer.echo(f"error: {_one_line(error)}", err=True)
            code = EXIT_USER_ERROR
        except _ABORTS:
            typer.echo("interrupted", err=True)
            code = 130
        except Exception as error:
            if not _caused_by_interrupt(error):
                raise
            typer.echo("interrupted", err=True)  # Ctrl-C inside a library that then failed cleaning up
            code = 130
        if standalone_mode:
            sys.exit(code)
        return code


def _caused_by_interrupt(error: BaseException) -> bool:
    """Whether a ``KeyboardInterrupt`` is in ``error``'s chain: SQLAlchemy, interrupted mid-
    statement, raises its own error while rolling back, and Ctrl-C must still read as Ctrl-C."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _one_line(error: BaseException | str, limit: int = 1000) -> str:
    """The message on one line, at most ``limit`` characters: a 5000-character argument echoed
    back helps nobody; the middle goes, the end (the fix) stays."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit // 2] + " ... " + text[-(limit // 2 - 5):]


app = typer.Typer(
    name="simdrive",
    cls=OneLineErrors,
    help="SimDrive: reinforcement learning and top-down driving simulation.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

def _fail(message: str) -> None:
    typer.echo(f"error: {_one_line(message)}", err=True)
    raise typer.Exit(EXIT_USER_ERROR)


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn ``UserError`` (and Ctrl-C) into one line and a non-zero exit."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except UserError as error:
            _fail(str(error))
        except OSError as error:  # a file or folder the user named cannot be read or written
            if error.errno == errno.EPIPE:
                raise typer.Exit(1)
            where = f" {error.filename}" if error.filename else ""
            _fail(f"cannot use{where}: {error.strerror or error}")
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130)

    return wrapper


def _print_summary(title: str, summary: dict[str, Any], as_json: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    rows = [(key, f"{value:.4g}" if isinstance(value, float) else str(value)) for key, value in summary.items() if value is not None]
    console = Console(stderr=as_json)
    needed = max((len(key) for key, _ in rows), default=0) + max((len(text) for _, text in rows), default=0) + 7  # borders, padding
    if not console.is_terminal and needed > console.width:  # logs and pipes: never cut a path
        console = Console(stderr=as_json, width=needed)
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")  # a narrow terminal wraps long paths, never cuts them
    for key, text in rows:
        table.add_row(key, text)
    console.print(table)
    if as_json:
        sys.stdout.write(json.dumps(summary) + "\n")
        sys.stdout.flush()


@app.command("envs")
def list_envs() -> None:
    """List SimDrive's registered environments."""
    from simdrive.envs_registry import simdrive_ids

    ids = simdrive_ids()
    width = max(map(len, ids))
    for env_id, description in ids.items():
        typer.echo(f"{env_id:<{width}}  {description}")


@app.command("agents")
@user_errors
def list_agents(
    name: Optional[str] = typer.Argument(None, help="An agent: list its settings with defaults and valid values."),
    env: Optional[str] = typer.Option(None, "--env", help="With AGENT: the settings `simdrive train AGENT ENV` would use, and where each comes from."),
    hparams: Optional[Path] = typer.Option(None, "--hparams", help="With --env: tuned settings from this file instead of the shipped one."),
    settings: list[str] = typer.Option([], "--set", help="With --env: an agent setting key=value, as for train (repeatable)."),
) -> None:
    """List the agents that `simdrive train` knows, the settings of one (for --set KEY=VALUE), or
    with --env the settings, budget and evaluation that `simdrive train AGENT ENV` would use."""
    from agents import AGENTS

    if name is None and (env is not None or hparams is not None or settings):
        raise UserError("--env, --hparams and --set need an AGENT, e.g. simdrive agents dqn --env simdrive/CartPole-v1")
    if env is None and (hparams is not None or settings):
        raise UserError("--hparams and --set need --env ENV (the settings depend on the environment)")
    if name is not None and env is not None:
        from simdrive.runner import TrainRequest, plan_training

        plan = plan_training(TrainRequest(agent=name, env_id=env, overrides=tuple(settings), hparams=hparams, track=False,
                                          show_progress=False))
        rows = [("setting", "value", "source"), *plan.describe()]
        widths = [max(len(row[i]) for row in rows) for i in range(2)]
        typer.echo(f"simdrive train {name} {plan.env_id} would use:")
        for row in rows:
            typer.echo("  ".join(text.ljust(width) for text, width in zip(row[:2], widths)) + "  " + row[2])
        if plan.tuned is not None:
            typer.echo(f"tuned entry produced by: {plan.tuned.produced_by.command}"
                       + (f" (seeds {', '.join(map(str, plan.tuned.produced_by.seeds))})" if plan.tuned.produced_by.seeds else ""))
        return
    if name is not None:
        from agents.config_checks import describe_settings
        from simdrive.agents_registry import agent_class

        rows = [("setting", "type", "default", "valid values"), *describe_settings(agent_class(name).Config)]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for row in rows:
            typer.echo("  ".join(text.ljust(width) for text, width in zip(row[:3], widths)) + "  " + row[3])
        return
    width = max(map(len, AGENTS))
    for name, spec in AGENTS.items():
        typer.echo(f"{name:<{width}}  {spec.description}")


@app.command("train")
@user_errors
def train_command(
    agent: str = typer.Argument(..., help="Agent name (see `simdrive agents`)."),
    env: str = typer.Argument(..., help="Environment id, e.g. simdrive/Maze-v0 (see `simdrive envs`)."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Train for this many environment steps."),
    episodes: Optional[int] = typer.Option(None, "--episodes", min=1, help="Train for this many episodes."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed (same seed, same result)."),
    settings: list[str] = typer.Option([], "--set", help="Agent setting key=value (repeatable)."),
    env_args: list[str] = typer.Option([], "--env-arg", help="Environment argument key=value (repeatable)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default runs/AGENT-ENV-TIME)."),
    no_track: bool = typer.Option(False, "--no-track", help="Do not log the run to MLflow."),
    as_json: bool = typer.Option(False, "--json", help="End with one JSON line on stdout."),
    eval_episodes: Optional[int] = typer.Option(None, "--eval-episodes", min=1, help="Deterministic episodes per evaluation, during and after training (default: the tuned file's, else 10)."),
    eval_every: Optional[int] = typer.Option(None, "--eval-every", min=0, help="Evaluate every N steps (episodes, for an episode budget) on a separate env and keep best.sdckpt; 0 turns it off (default: the tuned file's, else a tenth of the budget)."),
    stop_at_return: Optional[str] = typer.Option(None, "--stop-at-return", help="End training once an evaluation's mean return reaches R (default: the env's registered reward_threshold, if any); 'none' never stops early."),
    hparams: Optional[Path] = typer.Option(None, "--hparams", help="Tuned settings from this YAML file (as `simdrive sweep` writes) instead of the shipped simdrive/hparams file."),
    no_hparams: bool = typer.Option(False, "--no-hparams", help="Ignore tuned settings: the agent's own defaults."),
    checkpoint_every: Optional[int] = typer.Option(None, "--checkpoint-every", min=1, help="Also checkpoint every N steps."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue training from this checkpoint."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    threads: int = typer.Option(1, "--threads", min=1, help="CPU threads for torch (small networks are fastest on 1)."),
    data: Optional[str] = typer.Option(None, "--data", help="Demonstrations (Minari dataset id or folder) for bc/dagger; same as --set data=..."),
    eval_suite: Optional[str] = typer.Option(None, "--eval-suite", help="Also score the final checkpoint on this scenario suite (driving envs: highway, merge, ... or a suite file); logged as suite_* metrics."),
) -> None:
    """Train AGENT on ENV, evaluate it, save a checkpoint and track the run in MLflow."""
    from agents.base import Budget
    from simdrive.config import parse_env_kwargs
    from simdrive.runner import TrainRequest, train

    if steps is not None and episodes is not None:
        raise UserError("give --steps or --episodes, not both")
    budget = Budget(steps=steps, episodes=episodes) if (steps or episodes) else None
    if data is not None:
        settings = [*settings, f"data={data}"]
    if hparams is not None and no_hparams:
        raise UserError("give --hparams FILE or --no-hparams, not both")
    request = TrainRequest(
        agent=agent,
        env_id=env,
        budget=budget,
        seed=seed,
        overrides=tuple(settings),
        env_kwargs=parse_env_kwargs(env_args),
        out_dir=out,
        track=not no_track,
        eval_episodes=eval_episodes,
        checkpoint_every=checkpoint_every,
        resume=resume,
        show_progress=progress and sys.stderr.isatty(),
        threads=threads,
        hparams=hparams,
        use_hparams=not no_hparams,
        eval_every=eval_every,
        stop_at_return=_parse_return(stop_at_return),
        eval_suite=eval_suite,
    )
    summary = train(request)
    _print_summary(f"trained {summary.agent} on {summary.env}", summary.as_dict(), as_json)
    if not as_json:
        if summary.best_checkpoint:
            typer.echo(f"best:     {summary.best_checkpoint} (evaluation return {summary.best_eval_return:.4g} at step {summary.best_eval_step})")
        typer.echo(f"watch it: simdrive watch {summary.checkpoint}")
        if summary.run_id:
            typer.echo(f"runs:     mlflow ui --backend-store-uri {summary.tracking_uri}")
            if summary.ui_url:
                typer.echo(f"          then open {summary.ui_url}")


def _parse_return(text: Optional[str]) -> Optional[float]:
    """``--stop-at-return``: a finite number, or none/off (never stop early: NaN in the request)."""
    if text is None:
        return None
    if text.strip().lower() in ("none", "off", "never"):
        return float("nan")
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"--stop-at-return expects a number or 'none', got '{text}'") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise UserError(f"--stop-at-return expects a finite number or 'none', got '{text}'")
    return value


@app.command("sweep")
@user_errors
def sweep_command(
    agent: str = typer.Argument(..., help="Agent name (see `simdrive agents`)."),
    env: str = typer.Argument(..., help="Environment id, e.g. simdrive/CartPole-v1."),
    space: Path = typer.Option(..., "--space", help="Search space YAML: setting -> value or {choice|uniform|loguniform|randint: [...]}."),
    trials: int = typer.Option(..., "--trials", min=1, help="Trials to sample."),
    workers: int = typer.Option(1, "--workers", min=1, help="Trials at the same time (CPUs of a local Ray)."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Ray cluster address (default: a local Ray)."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Steps per trial (default: train's)."),
    episodes: Optional[int] = typer.Option(None, "--episodes", min=1, help="Episodes per trial (default: train's)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of every trial and of the sampling."),
    settings: list[str] = typer.Option([], "--set", help="Agent setting key=value shared by every trial (repeatable)."),
    env_args: list[str] = typer.Option([], "--env-arg", help="Environment argument key=value (repeatable)."),
    eval_every: Optional[int] = typer.Option(None, "--eval-every", min=1, help="Evaluate (and report to ASHA) every N steps (default: train's)."),
    eval_episodes: Optional[int] = typer.Option(None, "--eval-episodes", min=1, help="Episodes per evaluation (default: train's)."),
    stop_at_return: Optional[str] = typer.Option(None, "--stop-at-return", help="A trial ends once it reaches R (default: the env's reward_threshold); 'none': never."),
    hparams: Optional[Path] = typer.Option(None, "--hparams", help="Start from this tuned file instead of the shipped one."),
    no_hparams: bool = typer.Option(False, "--no-hparams", help="Start from the agent's own defaults."),
    out: Optional[Path] = typer.Option(None, "--out", help="Sweep folder (default runs/sweep-AGENT-ENV-TIME)."),
    out_file: Optional[Path] = typer.Option(None, "--hparams-out", help="Where to write the best configuration (default OUT/hparams.yml)."),
    no_track: bool = typer.Option(False, "--no-track", help="Do not log the sweep to MLflow."),
    as_json: bool = typer.Option(False, "--json", help="End with one JSON line on stdout."),
) -> None:
    """Tune AGENT's settings on ENV with Ray Tune (ASHA early stopping); every trial is an MLflow
    child run; the best configuration is written as a file that `simdrive train --hparams` reads."""
    import shlex

    from agents.base import Budget
    from simdrive.config import parse_env_kwargs
    from simdrive.sweep import SweepRequest, sweep

    if steps is not None and episodes is not None:
        raise UserError("give --steps or --episodes, not both")
    if hparams is not None and no_hparams:
        raise UserError("give --hparams FILE or --no-hparams, not both")
    request = SweepRequest(
        agent=agent, env_id=env, space=space, trials=trials, workers=workers, ray_address=ray_address,
        budget=Budget(steps=steps, episodes=episodes) if (steps or episodes) else None, seed=seed,
        overrides=tuple(settings), env_kwargs=parse_env_kwargs(env_args), eval_every=eval_every,
        eval_episodes=eval_episodes, stop_at_return=_parse_return(stop_at_return), hparams=hparams,
        use_hparams=not no_hparams, out_dir=out, out_file=out_file, track=not no_track,
        command="simdrive " + " ".join(shlex.quote(arg) for arg in sys.argv[1:]) if sys.argv[1:2] == ["sweep"] else "",
    )
    result = sweep(request, show=(lambda line: typer.echo(line, err=True)))
    rows = sorted(result.trials, key=lambda t: (-t.best_eval_return, -t.completed, t.train_seconds))
    out_stream = sys.stderr if as_json else sys.stdout
    for trial in rows:
        state = "error" if trial.error else ("done" if trial.completed else "stopped early")
        shown = " ".join(f"{k}={v}" for k, v in trial.settings.items())
        print(f"{trial.trial:>14}  best {trial.best_eval_return:>9.4g}  {trial.steps:>8} steps  {trial.train_seconds:7.1f} s  "
              f"{state:<13}  {shown}", file=out_stream)
    best = result.best
    print(f"best: {' '.join(f'{k}={v}' for k, v in best.settings.items())} (best evaluation return {best.best_eval_return:.4g})",
          file=out_stream)
    print(f"wrote {result.hparams_file}; train with it: simdrive train {agent} {env} --hparams {result.hparams_file}", file=out_stream)
    if as_json:
        sys.stdout.write(json.dumps({"best": {"settings": {k: list(v) if isinstance(v, tuple) else v for k, v in best.settings.items()},
                                              "best_eval_return": best.best_eval_return, "run_id": best.run_id},
                                     "hparams": str(result.hparams_file), "parent_run_id": result.parent_run_id,
                                     "trials": len(result.trials), "completed": sum(t.completed for t in result.trials)}) + "\n")
        sys.stdout.flush()


@app.command("eval")
@user_errors
def eval_command(
    targets: list[str] = typer.Argument(..., help="POLICY [ENV]: a checkpoint written by `simdrive train`, `expert` or `random`, "
                                                  "and the environment (default: the one it was trained on). With --suite: POLICY [POLICY ...]."),
    episodes: int = typer.Option(10, "--episodes", min=1, help="Number of evaluation episodes."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the first episode."),
    env_args: list[str] = typer.Option([], "--env-arg", help="Environment argument key=value (repeatable)."),
    no_track: bool = typer.Option(False, "--no-track", help="Do not log the run to MLflow."),
    as_json: bool = typer.Option(False, "--json", help="End with one JSON line on stdout."),
    suite: Optional[str] = typer.Option(None, "--suite", help="Scenario suite: a shipped name (highway, merge, intersection, roundabout, adversarial) or a suite YAML file."),
    repeats: Optional[int] = typer.Option(None, "--repeats", min=1, help="Repetitions of each scenario (default: the suite's)."),
    workers: int = typer.Option(0, "--workers", min=0, help="Run scenarios on Ray with this many workers (0: in this process)."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Ray cluster address (default: a local Ray)."),
    report: Optional[Path] = typer.Option(None, "--report", help="Report folder (default runs/eval-SUITE-TIME)."),
) -> None:
    """Evaluate a policy (greedy) on an environment, or policies on a scenario suite (--suite)."""
    if suite is not None:
        _eval_suite(suite, targets, repeats, workers, ray_address, report, not no_track, as_json)
        return
    if len(targets) > 2:
        raise UserError(f"expected POLICY [ENV], got {len(targets)} arguments; to compare policies use --suite NAME POLICY [POLICY ...]")
    for flag, value in (("--repeats", repeats), ("--report", report), ("--ray-address", ray_address)):
        if value is not None:
            raise UserError(f"{flag} needs --suite")
    if workers:
        raise UserError("--workers needs --suite")
    from simdrive.config import parse_env_kwargs
    from simdrive.runner import evaluate_checkpoint

    checkpoint, env = targets[0], (targets[1] if len(targets) > 1 else None)
    summary = evaluate_checkpoint(checkpoint, env, episodes, seed, track=not no_track,
                                  env_kwargs=parse_env_kwargs(env_args) if env_args else None)
    data = summary.as_dict()
    for key in ("train_steps", "train_episodes", "interrupted"):
        data.pop(key, None)
    _print_summary(f"evaluated {summary.agent} on {summary.env}", data, as_json)


def _eval_suite(suite: str, policies: list[str], repeats: Optional[int], workers: int, ray_address: Optional[str],
                report: Optional[Path], track: bool, as_json: bool) -> None:
    from simdrive.evaluation.command import evaluate_suite, print_table

    ev = evaluate_suite(suite, policies, repeats, workers, ray_address, report, track, show_progress=sys.stderr.isatty())
    print_table(ev, to_stderr=as_json)
    if as_json:
        sys.stdout.write(json.dumps({"suite": ev.run.suite.name, "report": str(ev.html_path), "json": str(ev.json_path),
                                     "run_id": ev.run_id, "policies": ev.summary}) + "\n")
        sys.stdout.flush()
    else:
        typer.echo(f"report: {ev.html_path}")
        typer.echo(f"json:   {ev.json_path}")
        if ev.run.retries:
            typer.echo(f"retried {len(ev.run.retries)} job(s) after a worker died (listed in the report)")


@app.command("watch")
@user_errors
def watch_command(
    checkpoint: str = typer.Argument(..., help="Checkpoint written by `simdrive train`, or `expert` (built-in policy)."),
    env: Optional[str] = typer.Argument(None, help="Environment (default: the one it was trained on)."),
    episodes: int = typer.Option(3, "--episodes", min=1, help="Episodes to play."),
    fps: Optional[float] = typer.Option(
        None, "--fps", min=0.1,
        help="Frames per second of the window and the video (default: real time for driving environments, "
             "one frame per physics step; 10 for the others)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the first episode."),
    record: Optional[Path] = typer.Option(None, "--record", help="Write FILE.mp4 or FILE.gif instead of opening a window."),
    env_args: list[str] = typer.Option([], "--env-arg", help="Environment argument key=value (repeatable)."),
) -> None:
    """Play a saved agent's episodes in a window (Esc quits, space pauses), or record them."""
    from simdrive.config import parse_env_kwargs
    from simdrive.watch import watch

    written = watch(checkpoint, env, episodes=episodes, fps=fps, seed=seed, record=str(record) if record else None,
                    env_kwargs=parse_env_kwargs(env_args) if env_args else None)
    if written is not None:
        typer.echo(f"wrote {written}")


@app.command("play")
@user_errors
def play_command(
    player: str = typer.Argument(..., help="Checkpoint of a board-game agent (or random, mcts:N)."),
    vs: str = typer.Option("human", "--vs", help="Opponent: human (mouse, in a window), random, mcts:N, or another checkpoint."),
    games: int = typer.Option(2, "--games", min=1, help="Games to play; who starts alternates."),
    env: Optional[str] = typer.Option(None, "--env", help="Game id when PLAYER is not a checkpoint, e.g. simdrive/ConnectFour-v0."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed for random players and openings."),
    opening_moves: Optional[int] = typer.Option(None, "--opening-moves", min=0, help="Random plies opening each pair of games (default: 2 between programs, which are deterministic; 0 against a person)."),
    as_json: bool = typer.Option(False, "--json", help="End with one JSON line on stdout."),
) -> None:
    """Play a board game against an agent, or pit two agents against each other."""
    from simdrive.envs_registry import resolve_env_id
    from simdrive.play import play

    summary = play(player, vs=vs, games=games, env_id=resolve_env_id(env) if env else None, seed=seed,
                   opening_moves=opening_moves, verbose=not as_json)
    if as_json:
        sys.stdout.write(json.dumps(summary.as_dict()) + "\n")


@app.command("drive")
@user_errors
def drive_command(
    env: str = typer.Argument("simdrive/Highway-v0", help="Driving environment id."),
    fps: float = typer.Option(15.0, "--fps", min=1.0, help="Decisions (and frames) per second."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the first episode."),
    env_args: list[str] = typer.Option([], "--env-arg", help="Environment argument key=value (repeatable)."),
    record: Optional[str] = typer.Option(None, "--record", help="Record your episodes as demonstrations into this new dataset (Minari id, e.g. simdrive/highway-human-v0)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="With --record: replace an existing dataset of that name."),
) -> None:
    """Drive the ego vehicle yourself: arrow keys steer, accelerate and brake; R restarts, Esc quits.
    With --record, every finished episode goes into a dataset (D discards the last one)."""
    from simdrive.config import parse_env_kwargs
    from simdrive.drive import drive

    summary = drive(env, parse_env_kwargs(env_args), fps=fps, seed=seed, record=record, overwrite=overwrite)
    if summary:
        typer.echo(f"episode {summary['episode']}: {summary['steps']} steps, return {summary['return']:.2f}")
    if summary and summary.get("dataset"):
        typer.echo(f"recorded {summary['recorded']} episodes into {summary['dataset']} ({summary['path']})")


collect_app = typer.Typer(help="Collect demonstrations into a Minari dataset.", no_args_is_help=True)
data_app = typer.Typer(help="Inspect demonstration datasets.", no_args_is_help=True)
app.add_typer(collect_app, name="collect")
app.add_typer(data_app, name="data")


@collect_app.command("expert")
@user_errors
def collect_expert_command(
    env: Optional[str] = typer.Argument(None, help="Environment with a built-in expert, e.g. simdrive/Highway-v0 (or --suite)."),
    episodes: int = typer.Option(..., "--episodes", min=1, help="Episodes to record."),
    suite: Optional[str] = typer.Option(None, "--suite", help="Drive a scenario suite's scenarios in turn (held-out repetitions) instead of ENV."),
    out: str = typer.Option(..., "--out", help="New dataset: a Minari id such as simdrive/highway-expert-v0 (stored under $MINARI_DATASETS_PATH)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the first episode (then seed+1, ...)."),
    perturb: Optional[str] = typer.Option(None, "--perturb", help="Push the ego off its path (ChauffeurNet): on, or p=0.1,lateral=1.0,heading=0.05."),
    sensors: Optional[str] = typer.Option(None, "--sensors", help="Sensors to record (driving envs; default: all of kinematics,lidar,occupancy,camera,birdseye)."),
    env_args: list[str] = typer.Option([], "--env-arg", help="Environment argument key=value (repeatable)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing dataset of that name."),
    as_json: bool = typer.Option(False, "--json", help="End with one JSON line on stdout."),
) -> None:
    """Let ENV's expert drive and record its episodes (Ctrl-C keeps the finished ones)."""
    from simdrive.config import parse_env_kwargs
    from simdrive.data import collect_expert, parse_perturb

    def progress(index: int, episode) -> None:
        if not as_json:
            typer.echo(f"episode {index + 1}/{episodes}: {len(episode)} steps, {episode.metadata['outcome']}", err=True)

    summary = collect_expert(env, parse_env_kwargs(env_args), episodes, out, seed=seed, perturb=parse_perturb(perturb),
                             sensors=sensors, overwrite=overwrite, on_episode=progress, suite=suite)
    _print_summary(f"collected {out}", {k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in summary.as_dict().items()}, False)
    if as_json:
        sys.stdout.write(json.dumps(summary.as_dict()) + "\n")
    if summary.interrupted:
        typer.echo(f"interrupted: kept the {summary.episodes} finished episodes", err=True)
        raise typer.Exit(130)


@data_app.command("info")
@user_errors
def data_info_command(
    dataset: str = typer.Argument(..., help="Dataset: Minari id (e.g. simdrive/highway-expert-v0) or dataset folder."),
    as_json: bool = typer.Option(False, "--json", help="End with one JSON line on stdout."),
) -> None:
    """Sizes, sources, outcomes and the action histogram of a dataset."""
    from simdrive.data import info, print_info

    print_info(info(dataset), as_json)


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
