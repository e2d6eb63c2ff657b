"""JSON text for bulk writes: compact, non-ASCII kept, lone surrogates still encoded."""

import json

from valify.jsontext import json_text


def test_json_text_is_compact_and_keeps_non_ascii():
    assert json_text({"name": "José", "n": [1, None]}) == '{"name":"José","n":[1,null]}'


def test_a_lone_surrogate_falls_back_to_escapes():
    text = json_text({"bad": "a\udcffb"})

    assert json.loads(text) == {"bad": "a\udcffb"}
