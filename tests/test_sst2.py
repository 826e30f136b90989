import numpy as np
import pytest

from prunelab.data.sst2 import (
    SHARED_PHRASE_WORDS,
    describe,
    draw_splits,
    load_splits,
    locate_source,
    read_glue_tsv,
    shares_phrase,
    spans,
    split_facts,
    whole_sentences,
    words,
)
from prunelab.errors import DataError

GOOD = "sentence\tlabel\na fine film\t1\ndull , dull , dull\t0\n"


def write(folder, name, text, encoding="utf-8"):
    path = folder / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_reads_glue_tsv_without_quoting(tmp_path):
    path = write(tmp_path, "train.tsv", 'sentence\tlabel\n"quoted" , it \'s fine\t1\nbad\t0\n')
    frame = read_glue_tsv(path)
    assert list(frame["sentence"]) == ['"quoted" , it \'s fine', "bad"]
    assert list(frame["label"]) == [1, 0]


@pytest.mark.parametrize(
    "text, message",
    [
        ("sentence\tlabel\na fine film\t1\nno label here\n", r"train\.tsv, line 3: expected 2 tab-separated fields"),
        ("sentence\tlabel\na\tb\t1\n", r"line 2: expected 2 tab-separated fields \(sentence, label\), found 3"),
        ("sentence\tlabel\na fine film\t2\n", r"line 2: label '2' is not 0 or 1"),
        ("sentence\tlabel\n   \t1\n", r"line 2: the sentence is empty"),
        ("text\tgold\na fine film\t1\n", r"line 1: expected the header"),
        ("sentence\tlabel\n", r"holds no examples"),
        (b"sentence\tlabel\nok\t1\nbad \xff byte\t0\n", r"line 3: not valid UTF-8"),
    ],
)
def test_each_malformed_file_gets_its_error(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        read_glue_tsv(write(tmp_path, "train.tsv", text))


def test_unreadable_file(tmp_path):
    (tmp_path / "train.tsv").mkdir()
    with pytest.raises(DataError, match=r"train\.tsv: cannot be read"):
        read_glue_tsv(tmp_path / "train.tsv")


def test_missing_folder_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("SST2_DIR", raising=False)
    with pytest.raises(DataError, match=r"does not exist\. Set SST2_DIR"):
        locate_source(str(tmp_path / "nowhere"))


def test_missing_file(tmp_path, monkeypatch):
    monkeypatch.delenv("SST2_DIR", raising=False)
    write(tmp_path, "train.tsv", GOOD)
    with pytest.raises(DataError, match=r"dev\.tsv: file missing"):
        locate_source(str(tmp_path))


def test_hub_unreachable_without_local_folder(monkeypatch):
    monkeypatch.delenv("SST2_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(DataError, match="hub is unreachable.*Set SST2_DIR"):
        locate_source(None)


def test_env_var_wins_and_fingerprints_follow_content(tmp_path, monkeypatch):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        write(tmp_path / name, "train.tsv", GOOD)
        write(tmp_path / name, "dev.tsv", GOOD)
    monkeypatch.setenv("SST2_DIR", str(tmp_path / "a"))
    first = locate_source(str(tmp_path / "b"))
    assert first.location == str(tmp_path / "a")
    assert first.identity() == locate_source(None).identity()
    write(tmp_path / "a", "dev.tsv", GOOD + "one more\t1\n")
    assert locate_source(None).identity() != first.identity()


def test_subset_and_selection_are_seeded_and_bounded():
    frame = read_frame(100)
    first, again = draw_splits(frame, NO_DEV, 10, 20, seed=1), draw_splits(frame, NO_DEV, 10, 20, seed=1)
    assert all(first[name].equals(again[name]) for name in first)
    assert not first["train"].equals(draw_splits(frame, NO_DEV, 10, 20, seed=2)["train"])
    assert [len(first["train"]), len(first["selection"])] == [10, 20]
    with pytest.raises(DataError, match="train_size is 101"):
        draw_splits(frame, NO_DEV, 101, 0, seed=1)
    with pytest.raises(DataError, match="selection_size is 101, but the training split holds only 100 whole"):
        draw_splits(frame, NO_DEV, 10, 101, seed=1)
    with pytest.raises(DataError, match="train_size is 81, but only 80 training rows share no phrase"):
        draw_splits(frame, NO_DEV, 81, 20, seed=1)


# Two parse trees as GLUE writes them: every phrase a row, the whole sentence among them.
TREES = ["a fine , warm film", "a fine", ", warm film", "warm film", "a", "fine", "warm", "film",
         "dull , dull , dull", "dull , dull", ", dull", "dull"]


def test_whole_sentences_are_the_phrases_no_other_phrase_contains():
    assert whole_sentences(TREES) == {words("a fine , warm film"), words("dull , dull , dull")}
    assert whole_sentences(["dull", "dull"]) == {words("dull")}


def test_no_phrase_of_two_or_more_words_of_a_selection_sentence_is_trained_on():
    frame = read_frame(len(TREES)).assign(sentence=TREES)
    chosen = draw_splits(frame, NO_DEV, 1, 1, seed=0)["selection"]["sentence"].item()
    assert words(chosen) in whole_sentences(TREES)
    inside = {phrase for phrase in TREES if words(phrase) in spans(words(chosen))}
    multiword = {phrase for phrase in inside if len(words(phrase)) >= SHARED_PHRASE_WORDS}
    pool = set(TREES) - multiword  # single words stay in it
    drawn = draw_splits(frame, NO_DEV, len(pool), 1, seed=0)
    assert drawn["selection"]["sentence"].item() == chosen
    assert set(drawn["train"]["sentence"]) == pool
    with pytest.raises(DataError, match=f"only {len(pool)} training rows share no phrase"):
        draw_splits(frame, NO_DEV, len(pool) + 1, 1, seed=0)


def test_the_pool_is_every_row_left_once_and_the_share_of_whole_sentences_is_drawn_as_asked():
    frame = read_frame(len(TREES) * 2).assign(sentence=TREES * 2)  # every phrase twice
    drawn = draw_splits(frame, NO_DEV, 3, 1, seed=0)
    held_out = {p for p in TREES if words(p) in spans(words(drawn["selection"]["sentence"].item()), 2)}
    assert drawn["pool"]["sentence"].is_unique
    assert set(drawn["pool"]["sentence"]) == set(TREES) - held_out - set(drawn["train"]["sentence"])
    assert drawn["pool"].equals(draw_splits(frame, NO_DEV, 3, 1, seed=0)["pool"])
    whole = whole_sentences(TREES)
    for share, expected in ((1.0, 2), (0.5, 1), (0.0, 0)):
        subset = draw_splits(frame, NO_DEV, 2, 1, seed=0, whole_sentence_share=share)["train"]["sentence"]
        assert subset.map(words).map(whole.__contains__).sum() == expected  # the unselected tree's root, twice
    with pytest.raises(DataError, match="asks for 3 whole sentences and 0 shorter phrases; the pool holds 2"):
        draw_splits(frame, NO_DEV, 3, 1, seed=0, whole_sentence_share=1.0)


def test_a_dev_sentence_or_a_duplicate_is_never_drawn_for_selection():
    frame = read_frame(40).assign(sentence=[f"sentence {i % 20}" for i in range(40)])  # every sentence twice
    dev = frame.iloc[:5]
    splits = draw_splits(frame, dev, 10, 15, seed=0)
    assert len(set(splits["selection"]["sentence"])) == 15
    assert not set(splits["selection"]["sentence"]) & (set(splits["train"]["sentence"]) | set(dev["sentence"]))


def test_split_facts_count_whole_sentences_and_shared_phrases():
    train = read_frame(len(TREES)).assign(sentence=TREES)
    splits = {"train": train.iloc[1:2], "selection": train.iloc[[0, 8]], "dev": train.iloc[[0]]}
    facts = split_facts(splits, {"train": train, "dev": train.iloc[[0]]})
    assert facts["train"] == {"whole_sentence_fraction": 0.0, "shares_training_phrase_2_words": None,
                              "shares_training_phrase_3_words": None}
    # "a fine , warm film" holds the trained "a fine" (two words), "dull , dull , dull" holds nothing trained.
    assert facts["selection"] == {"whole_sentence_fraction": 1.0, "shares_training_phrase_2_words": 0.5,
                                  "shares_training_phrase_3_words": 0.0}
    assert facts["dev"]["whole_sentence_fraction"] == 1.0


def test_the_real_selection_set_is_whole_unseen_sentences_outside_dev():
    """On SST-2 itself, with the default sizes: every selection sentence is a whole sentence of the training
    file, none is in dev, and none holds a training-subset phrase of two or more words. Dev shares such
    phrases by chance, as fragments of three words or more only rarely."""
    import yaml

    from pipeline_workspace import REPO, SST2_DIR

    params = yaml.safe_load((REPO / "params.yaml").read_text())
    splits = load_splits(locate_source(str(SST2_DIR)))
    drawn = draw_splits(splits["train"], splits["dev"], params["data"]["train_size"],
                        params["data"]["selection_size"], params["seed"])
    selection, dev = drawn["selection"]["sentence"], splits["dev"]["sentence"]
    assert len(selection) == params["data"]["selection_size"] == selection.nunique()
    assert len(drawn["train"]) == params["data"]["train_size"]
    whole = whole_sentences(splits["train"]["sentence"])
    assert selection.map(words).map(whole.__contains__).all()
    assert not set(selection) & set(dev)
    assert not shares_phrase(selection, drawn["train"]["sentence"], SHARED_PHRASE_WORDS).any()
    assert shares_phrase(dev, drawn["train"]["sentence"], SHARED_PHRASE_WORDS).mean() < 0.1


def test_describe_counts_labels_and_truncation():
    stats = describe(read_frame(4), np.array([3, 5, 7, 200]), max_length=128)
    assert (stats["rows"], stats["positive"], stats["negative"]) == (4, 2, 2)
    assert stats["truncated_fraction"] == 0.25
    assert stats["tokens_max"] == 200


def read_frame(n):
    import pandas as pd

    return pd.DataFrame({"sentence": [f"s{i}" for i in range(n)], "label": np.arange(n) % 2})


NO_DEV = read_frame(0)
