"""Build ``tests/fixtures/history-v1.sqlite3``: a small history in the version 1 format.

Version 1 kept each conversation as a plain list of messages (``position``) with
their wire content, and a usage object for replies; no branches, no search.
Run ``python tests/support/make_history_v1.py`` to rebuild the committed file.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "history-v1.sqlite3"
# A 1×1 transparent PNG.
PNG_1PX = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJ"
    "RU5ErkJggg=="
)

SCHEMA_V1 = (
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE conversations(
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL DEFAULT '',
        created REAL NOT NULL,
        updated REAL NOT NULL,
        model TEXT NOT NULL DEFAULT '')""",
    """CREATE TABLE messages(
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        role TEXT NOT NULL,
        content_json TEXT NOT NULL,
        usage_json TEXT,
        status TEXT NOT NULL DEFAULT 'done',
        created REAL NOT NULL)""",
    "CREATE INDEX messages_position ON messages(conversation_id, position)",
)

Row = tuple[str, list[dict[str, Any]], dict[str, int] | None]
CONVERSATIONS: list[tuple[str, str, list[Row]]] = [
    (
        "Kestrel facts",
        "claude-sonnet-4-6",
        [
            ("user", [{"type": "text", "text": "How fast can a kestrel hover?"}], None),
            (
                "assistant",
                [{"type": "text", "text": "A kestrel hovers by flying into the wind."}],
                {"input_tokens": 12, "output_tokens": 10},
            ),
            ("user", [{"type": "text", "text": "And its prey?"}], None),
            (
                "assistant",
                [{"type": "text", "text": "Mostly voles and other small mammals."}],
                {"input_tokens": 30, "output_tokens": 8},
            ),
        ],
    ),
    (
        "What is in this picture",
        "claude-opus-4-7",
        [
            (
                "user",
                [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG_1PX},
                    },
                    {"type": "text", "text": "Describe this image."},
                ],
                None,
            ),
            (
                "assistant",
                [{"type": "text", "text": "A single transparent pixel."}],
                {"input_tokens": 20, "output_tokens": 6},
            ),
        ],
    ),
]


def build(path: Path) -> None:
    """Write the version 1 fixture to ``path``, replacing any old file."""
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.execute("PRAGMA page_size = 1024")  # keeps the committed file small
    with db:
        for statement in SCHEMA_V1:
            db.execute(statement)
        db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        clock = 1_700_000_000.0
        for title, model, messages in CONVERSATIONS:
            cursor = db.execute(
                "INSERT INTO conversations(title, created, updated, model) VALUES (?, ?, ?, ?)",
                (title, clock, clock + len(messages), model),
            )
            for position, (role, content, usage) in enumerate(messages):
                db.execute(
                    "INSERT INTO messages(conversation_id, position, role, content_json, "
                    "usage_json, created) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        cursor.lastrowid,
                        position,
                        role,
                        json.dumps(content),
                        None if usage is None else json.dumps(usage),
                        clock + position,
                    ),
                )
            clock += 100
    db.execute("VACUUM")
    db.close()


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else FIXTURE)
