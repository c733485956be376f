#!/usr/bin/env python3
"""The Python MCP SDK (2.x, PyPI `mcp`) as a real client of lipsync-mcp (issue 25, item 6).

Connects over stdio (`--stdio NODE BIN`) or Streamable HTTP (`--url URL`), pinned to 2026-07-28
(`--mode 2026-07-28`: no handshake) or through the 2025 `initialize` handshake (`--mode legacy`);
lists the tools, runs a local job from create to download, watches its task resource (`listen` on
2026-07-28, `resources/subscribe` on 2025), reads it, and prints one JSON line of what it saw on stdout.
With `--paid accept|decline` it instead asks for a paid Jogg job with elicitation offered, answers the
confirmation (`input_required` on 2026-07-28, `elicitation/create` on 2025) and reports the outcome.
Any failure exits 1 with the reason on stderr. test/ecosystem/python-client.test.ts runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from typing import Any

import anyio
import mcp_types as types
from mcp import Client
from mcp.client.stdio import StdioServerParameters

NEEDED_TOOLS = {"create_lip_sync", "get_task_status", "download_result", "list_tasks"}
# Every call is bounded: get_task_status holds a request for up to wait_seconds (50 s here).
CALL_TIMEOUT_S = 70
WHOLE_RUN_S = 300


class Failed(Exception):
    pass


def data(result: Any, what: str) -> dict[str, Any]:
    if result.is_error or not isinstance(result.structured_content, dict):
        text = " ".join(getattr(c, "text", "") for c in result.content)
        raise Failed(f"{what} failed: {text[:500]}")
    return result.structured_content


async def run(client: Client, video: str, audio: str, era: str) -> dict[str, Any]:
    seen: dict[str, Any] = {"protocol": client.protocol_version}
    tools = (await client.list_tools()).tools
    names = {t.name for t in tools}
    seen["tools"] = len(tools)
    if not NEEDED_TOOLS <= names:
        raise Failed(f"tools/list lacks {sorted(NEEDED_TOOLS - names)}")
    created = data(
        await client.call_tool(
            "create_lip_sync",
            {"video": video, "audio": audio, "provider": "local"},
            read_timeout_seconds=CALL_TIMEOUT_S,
        ),
        "create_lip_sync",
    )
    task_id = str(created["task_id"])
    uri = f"lipsync://tasks/{task_id}"
    seen["task_id"] = task_id
    status = created
    if era == "modern":
        async with client.listen(resource_subscriptions=[uri]) as sub:
            honored = list(sub.honored.resource_subscriptions or [])
            if uri not in honored:
                raise Failed(f"subscriptions/listen did not honour {uri}: {honored}")
            seen["heard_by"] = "subscriptions/listen"
            status = await wait_done(client, task_id, status)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecated at 2026-07-28 only; this is the 2025 leg
            await client.subscribe_resource(uri)
        seen["heard_by"] = "resources/subscribe"
        status = await wait_done(client, task_id, status)
    seen["status"] = status["status"]
    saved = data(
        await client.call_tool("download_result", {"task_id": task_id}, read_timeout_seconds=CALL_TIMEOUT_S),
        "download_result",
    )
    path = saved.get("path")
    if not isinstance(path, str) or not os.path.isfile(path):
        raise Failed(f"download_result saved no file: {json.dumps(saved)[:500]}")
    seen["bytes"] = os.path.getsize(path)
    contents = (await client.read_resource(uri)).contents
    text = "".join(getattr(c, "text", "") or "" for c in contents)
    if task_id not in text:
        raise Failed(f"resources/read {uri} does not name the task: {text[:500]}")
    seen["resource"] = "read"
    return seen


async def paid(client: Client, video: str, audio: str, asked: list[str]) -> dict[str, Any]:
    """One paid create_lip_sync (Jogg); the elicitation callback gives the answer and records the ask."""
    seen: dict[str, Any] = {"protocol": client.protocol_version}
    result = await client.call_tool(
        "create_lip_sync",
        {"video": video, "audio": audio, "provider": "jogg"},
        read_timeout_seconds=CALL_TIMEOUT_S,
    )
    seen["asked"] = asked
    if result.is_error:
        text = "".join(getattr(c, "text", "") for c in result.content)
        try:
            seen["error"] = json.loads(text)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            raise Failed(f"create_lip_sync failed without an error code: {text[:500]}") from None
    else:
        seen["task_id"] = data(result, "create_lip_sync")["task_id"]
    return seen


async def wait_done(client: Client, task_id: str, status: dict[str, Any]) -> dict[str, Any]:
    for _ in range(30):
        if status.get("status") in ("success", "failed"):
            break
        status = data(
            await client.call_tool(
                "get_task_status",
                {"task_id": task_id, "wait_seconds": 50},
                read_timeout_seconds=CALL_TIMEOUT_S,
            ),
            "get_task_status",
        )
    if status.get("status") != "success":
        raise Failed(f"the local job did not succeed: {json.dumps(status)[:500]}")
    return status


async def main() -> int:
    ap = argparse.ArgumentParser()
    target = ap.add_mutually_exclusive_group(required=True)
    target.add_argument("--url")
    target.add_argument("--stdio", nargs=2, metavar=("NODE", "BIN"))
    ap.add_argument("--mode", required=True, choices=["2026-07-28", "legacy"])
    ap.add_argument("--video", required=True)
    ap.add_argument("--audio", required=True)
    ap.add_argument("--paid", choices=["accept", "decline"])
    args = ap.parse_args()
    asked: list[str] = []

    async def answer(_context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(getattr(params, "message", ""))
        if args.paid == "accept":
            return types.ElicitResult(action="accept", content={"confirm": True})
        return types.ElicitResult(action="decline")

    server: Any = (
        args.url
        if args.url
        else StdioServerParameters(command=args.stdio[0], args=[args.stdio[1]], env=dict(os.environ))
    )
    era = "legacy" if args.mode == "legacy" else "modern"
    try:
        with anyio.fail_after(WHOLE_RUN_S):
            async with Client(
                server,
                mode=args.mode,
                read_timeout_seconds=CALL_TIMEOUT_S,
                elicitation_callback=answer if args.paid else None,
            ) as client:
                if args.paid:
                    seen = await paid(client, args.video, args.audio, asked)
                else:
                    seen = await run(client, args.video, args.audio, era)
    except TimeoutError:
        print(f"the run took longer than {WHOLE_RUN_S} s", file=sys.stderr)
        return 1
    except Exception as e:  # the reason, for the test's failure message
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(seen))
    return 0


if __name__ == "__main__":
    sys.exit(anyio.run(main))
