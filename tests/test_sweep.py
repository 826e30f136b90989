from prunelab.sweep import structured_runs

ONE_SHOT, FINE_TUNE = None, "fine-tuning settings"


def test_the_main_structured_point_is_added_fine_tuned():
    runs = structured_runs([0.3, 0.5, 0.7], ONE_SHOT, 0.5, FINE_TUNE)
    assert runs == [(0.3, None, False), (0.5, None, False), (0.7, None, False), (0.5, FINE_TUNE, True)]


def test_with_every_point_fine_tuned_the_main_point_is_not_trained_twice():
    runs = structured_runs([0.3, 0.5], FINE_TUNE, 0.5, FINE_TUNE)
    assert runs == [(0.3, FINE_TUNE, False), (0.5, FINE_TUNE, True)]
    assert structured_runs([0.3], FINE_TUNE, 0.5, FINE_TUNE)[-1] == (0.5, FINE_TUNE, True)


def test_without_recovery_epochs_there_is_no_main_point():
    assert structured_runs([0.5], ONE_SHOT, None, None) == [(0.5, None, False)]
