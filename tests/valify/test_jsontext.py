"""JSON text for bulk writes: compact, non-ASCII kept, lone surrogates still encoded."""

import json

from valify.jsontext import JsonFragment, json_text


def test_json_text_is_compact_and_keeps_non_ascii():
    assert json_text({"name": "José", "n": [1, None]}) == '{"name":"José","n":[1,null]}'


def test_a_lone_surrogate_falls_back_to_escapes():
    text = json_text({"bad": "a\udcffb"})

    assert json.loads(text) == {"bad": "a\udcffb"}


def test_a_fragment_goes_in_as_it_is():
    text = json_text({"extra": JsonFragment('{"Source": "fair", "n": 2}'), "id": "x"})

    assert text == '{"extra":{"Source": "fair", "n": 2},"id":"x"}'


def test_a_fragment_beside_a_lone_surrogate_is_still_embedded():
    text = json_text({"bad": "a\udcffb", "extra": JsonFragment('{"Source":"fair"}')})

    assert json.loads(text) == {"bad": "a\udcffb", "extra": {"Source": "fair"}}
