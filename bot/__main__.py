"""``python -m bot run [INSTANCE_DIR]``: run a robot instance until Ctrl-C.
``python -m bot demo``: a fake DingTalk and this robot in one process, a short chat, printed.

``run`` works against a fake when ``DINGTALK_OPENAPI_ENDPOINT`` points at one, against real
DingTalk otherwise (live mode refuses missing or placeholder credentials and says which).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from bot.elements import ELEMENTS_DIR, backend, lineage
from bot.errors import BotError
from bot.runtime import tune_gc

DEFAULT_INSTANCE = ELEMENTS_DIR / "imRobots.dingTalkDemo"
_stop_before_loop: list[int] = []  # signals that came while the robot was still being built


def _remember(signum: int, _frame: object) -> None:
    """SIGTERM during start-up (imports, config, opening the store) is a request to stop, not
    a kill: it is kept and honoured as soon as the robot's loop can drain."""
    _stop_before_loop.append(signum)


async def _run(instance: Path) -> None:
    chain = lineage(instance)
    print(f"robot {chain[0].name} ({' → '.join(e.name for e in chain)})", flush=True)
    robot_class = backend(chain)  # the instance's class, or its Type's for "."; imports the SDK
    robot = robot_class.from_instance(instance)
    tune_gc()  # start-up is done: a long-running process from here on
    endpoint = robot.cfg.endpoint
    mode = "live DingTalk" if robot.cfg.is_live else "the platform at"
    print(f"connecting to {mode} {endpoint} as clientId={robot.cfg.client_id}", flush=True)
    loop = asyncio.get_running_loop()
    main = asyncio.ensure_future(robot.run())
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, main.cancel)
    if _stop_before_loop:
        main.cancel()
    try:
        await main
    except asyncio.CancelledError:
        pass
    finally:
        await robot.aclose()
        print("robot stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a robot instance")
    run.add_argument(
        "instance",
        nargs="?",
        type=Path,
        default=DEFAULT_INSTANCE,
        help="instance folder with e.json and config.json (default: dingTalkDemo)",
    )
    run.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    demo = sub.add_parser("demo", help="a fake DingTalk and this robot: chat, print what happened")
    demo.add_argument("--locale", default="en", choices=["en", "zh"])
    demo.add_argument(
        "--card-mode",
        default="interactive",
        choices=["interactive", "ai"],
        help="robot interactive cards (default) or one AI card per answer",
    )
    demo.add_argument(
        "--exit", action="store_true", help="end after the scripted chat instead of serving until Ctrl-C"
    )
    args = parser.parse_args(argv)
    if args.command == "run":
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, _remember)
    if args.command == "demo":
        try:
            from bot.demo import run_demo
        except ImportError as exc:  # the robot installed on its own: the demo needs the kit
            print(
                f"bot: the demo runs the robot against a local fake, which needs the kit "
                f"({exc.name or exc}): pip install 'fakeding-bot[demo]'",
                file=sys.stderr,
            )
            return 2
        return run_demo(locale=args.locale, stay=not args.exit, card_mode=args.card_mode)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        asyncio.run(_run(args.instance))
    except BotError as exc:
        print(f"bot: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
