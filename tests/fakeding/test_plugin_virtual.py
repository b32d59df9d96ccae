"""The plugin's virtual-time marker and its session fixtures, in projects that are not ours
(pytester: a fresh pytest in a subprocess, as a user's project runs it)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("DINGTALK_OPENAPI_ENDPOINT", raising=False)
    return pytester


def test_a_marked_async_test_runs_on_the_virtual_clock_with_its_fixtures(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_virtual="""
        import asyncio, time
        import pytest
        from fakeding.testing.scenarios.harness import EPOCH, running_fake

        @pytest.mark.fakeding_virtual
        async def test_an_hour_passes_at_once(tmp_path):
            loop = asyncio.get_running_loop()
            assert loop.time() == 0.0 and time.time() == EPOCH
            started = time.perf_counter()
            async with running_fake() as fake:
                fake.send_message("hi", conversation_id="cidG", staff_id="alice")
                await asyncio.sleep(3600)
                assert fake.clock.monotonic() == 3600.0
            assert time.perf_counter() - started < 600  # (the timeout's business, not a claim)
            assert tmp_path.is_dir()

        @pytest.mark.fakeding_virtual
        async def test_a_failing_assertion_fails():
            await asyncio.sleep(10)
            assert asyncio.get_running_loop().time() == 11.0

        @pytest.mark.fakeding_virtual(end=60)
        async def test_the_end_is_an_error():
            await asyncio.sleep(120)
    """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*assert 10.0 == 11.0*"])
    assert (
        "test_the_end_is_an_error FAILED" in result.stdout.str()
        or "FAILED test_virtual.py::test_the_end" in (result.stdout.str())
    )


def test_the_marker_on_a_plain_function_or_with_an_unknown_option_says_what_is_wrong(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_misuse="""
        import pytest

        @pytest.mark.fakeding_virtual
        def test_plain():
            pass

        @pytest.mark.fakeding_virtual(ends=5)
        async def test_typo():
            pass
    """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    out = result.stdout.str()
    assert "test_plain: @pytest.mark.fakeding_virtual runs async def tests" in out, out
    assert "takes keyword options end, epoch, threads, latency; found ends" in out, out
    assert "Traceback" not in out


def test_session_settings_and_apps_overridden_in_conftest_reach_the_fake(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        import pytest
        from fakeding.core.settings import Settings

        @pytest.fixture(scope="session")
        def fakeding_settings():
            return Settings(qps_limit=3, corp_id="dingcorpMine")

        @pytest.fixture(scope="session")
        def fakeding_apps():
            return [("my-client", "my-secret"), ("other-client", "other-secret")]
    """
    )
    project.makepyfile(
        test_layers="""
        import pytest

        def test_the_baseline(fakeding):
            assert fakeding.settings.qps_limit == 3
            assert fakeding.settings.corp_id == "dingcorpMine"
            assert [a["clientId"] for a in fakeding.apps()] == ["my-client", "other-client"]

        @pytest.mark.fakeding(qps_limit=None)
        def test_a_marker_changes_one_test_on_top(fakeding):
            assert fakeding.settings.qps_limit is None
            assert fakeding.settings.corp_id == "dingcorpMine"

        def test_the_baseline_comes_back(fakeding):
            assert fakeding.settings.qps_limit == 3
    """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_an_early_fake_adopts_the_session_fixtures(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nfakeding_early = true\n")
    project.makeconftest(
        """
        import pytest
        from fakeding.core.settings import Settings

        @pytest.fixture(scope="session")
        def fakeding_settings():
            return Settings(qps_limit=7)

        @pytest.fixture(scope="session")
        def fakeding_apps():
            return [("my-client", "my-secret")]
    """
    )
    project.makepyfile(
        test_early="""
        def test_adopted(fakeding):
            assert fakeding.settings.qps_limit == 7
            assert "my-client" in [a["clientId"] for a in fakeding.apps()]
    """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_settings_fixture_of_the_wrong_type_is_named(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="session")
        def fakeding_settings():
            return {"qps_limit": 3}
    """
    )
    project.makepyfile(test_wrong="def test_it(fakeding):\n    pass\n")
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    out = result.stdout.str()
    assert "fakeding_settings fixture must return a fakeding.core.settings.Settings, found dict" in out, out
