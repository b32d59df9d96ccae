"""Which tier each test file belongs to, so ``-m`` can pick a quick loop or the whole suite.

Tiers, from cheapest to dearest (a file sits in the dearest tier any of its tests needs):
- ``pure``: no socket, no subprocess, no event loop of its own worth timing: logic only.
- ``virtual``: runs on the scenario's virtual clock (loopback sockets allowed, no wall time).
- ``realtime``: real loopback servers and clients in real time.
- ``process``: starts programs of this repository (the CLI, the robot, bench processes).
- ``external``: needs something outside Python's packages: Chromium, redis-server, a JDK,
  npm packages, or wheels built and installed into fresh venvs.

``python3 dev.py test --fast`` runs ``pure or virtual``; ``python3 dev.py test`` runs them all.
A test file missing from this table fails ``test_every_test_file_has_a_tier``.
"""

from __future__ import annotations

TIERS = ("pure", "virtual", "realtime", "process", "external")

# path relative to the repository root (a folder covers everything under it) -> tier
TABLE: dict[str, str] = {
    # the robot
    "tests/bot/test_agents_custom.py": "pure",
    "tests/bot/test_agents_faq.py": "pure",
    "tests/bot/test_agents_openai.py": "realtime",
    "tests/bot/test_agents_scripted.py": "virtual",
    "tests/bot/test_ai_cards.py": "pure",
    "tests/bot/test_card_json.py": "pure",
    "tests/bot/test_cards.py": "pure",
    "tests/bot/test_cli_bot.py": "process",
    "tests/bot/test_clock.py": "pure",
    "tests/bot/test_config.py": "pure",
    "tests/bot/test_elements.py": "pure",
    "tests/bot/test_i18n.py": "pure",
    "tests/bot/test_manager.py": "realtime",
    "tests/bot/test_ratelimit.py": "virtual",
    "tests/bot/test_robot_ack_dedup.py": "virtual",
    "tests/bot/test_robot_agent_call.py": "virtual",
    "tests/bot/test_robot_agents.py": "virtual",
    "tests/bot/test_robot_ai_card.py": "virtual",
    "tests/bot/test_robot_ai_card_process.py": "process",
    "tests/bot/test_robot_bad_input.py": "virtual",
    "tests/bot/test_robot_concurrency.py": "virtual",
    "tests/bot/test_robot_disk_full.py": "process",
    "tests/bot/test_robot_feedback.py": "virtual",
    "tests/bot/test_robot_final_card.py": "virtual",
    "tests/bot/test_robot_final_update.py": "virtual",
    "tests/bot/test_robot_hardening_stream.py": "process",
    "tests/bot/test_robot_http_fuzz.py": "realtime",
    "tests/bot/test_robot_http_hardening.py": "realtime",
    "tests/bot/test_robot_http_mode.py": "virtual",
    "tests/bot/test_robot_loud_failures.py": "virtual",
    "tests/bot/test_robot_memory.py": "virtual",
    "tests/bot/test_robot_metrics.py": "virtual",
    "tests/bot/test_robot_process_faults.py": "process",
    "tests/bot/test_robot_reconnect.py": "virtual",
    "tests/bot/test_robot_redis.py": "external",
    "tests/bot/test_robot_replicas.py": "external",
    "tests/bot/test_robot_store_lock.py": "realtime",
    "tests/bot/test_robot_thinking_card.py": "virtual",
    "tests/bot/test_robot_throttle.py": "virtual",
    "tests/bot/test_runtime.py": "process",
    "tests/bot/test_scenario_adapter.py": "process",
    "tests/bot/test_storage_batch.py": "realtime",
    "tests/bot/test_store.py": "virtual",
    "tests/bot/test_store_progress.py": "pure",
    "tests/bot/test_strict_json.py": "pure",
    "tests/bot/test_throttle.py": "pure",
    # the benchmarks' short forms
    "tests/bench/test_fake_memory_short.py": "process",
    "tests/bench/test_report.py": "pure",
    "tests/bench/test_soak_processes_short.py": "process",
    "tests/bench/test_soak_short.py": "virtual",
    "tests/bench/test_throughput_short.py": "process",
    # the kit
    "tests/fakeding/test_body_reads.py": "realtime",
    "tests/fakeding/test_byo_robots.py": "external",
    "tests/fakeding/test_callback_answers.py": "realtime",
    "tests/fakeding/test_cards_delivery.py": "realtime",
    "tests/fakeding/test_cards_instances.py": "realtime",
    "tests/fakeding/test_cards_interactive.py": "realtime",
    "tests/fakeding/test_cards_routes.py": "realtime",
    "tests/fakeding/test_cards_store.py": "realtime",
    "tests/fakeding/test_cards_streaming.py": "realtime",
    "tests/fakeding/test_cli.py": "process",
    "tests/fakeding/test_cli_config.py": "process",
    "tests/fakeding/test_command_tls.py": "external",
    "tests/fakeding/test_connection_hygiene.py": "realtime",
    "tests/fakeding/test_contracts.py": "realtime",
    "tests/fakeding/test_control_api.py": "realtime",
    "tests/fakeding/test_custom_robots_http.py": "realtime",
    "tests/fakeding/test_custom_robots_rules.py": "pure",
    "tests/fakeding/test_control_openapi.py": "realtime",
    "tests/fakeding/test_control_security.py": "realtime",
    "tests/fakeding/test_doctor.py": "realtime",
    "tests/fakeding/test_emulator_browser.py": "external",
    "tests/fakeding/test_emulator_templates_browser.py": "external",
    "tests/fakeding/test_error_echoes.py": "realtime",
    "tests/fakeding/test_faults.py": "realtime",
    "tests/fakeding/test_fuzz.py": "realtime",
    "tests/fakeding/test_generated_clients.py": "realtime",
    "tests/fakeding/test_http_api.py": "realtime",
    "tests/fakeding/test_http_mode.py": "realtime",
    "tests/fakeding/test_ids_unique.py": "realtime",
    "tests/fakeding/test_internal_errors.py": "realtime",
    "tests/fakeding/test_jsonsafe.py": "pure",
    "tests/fakeding/test_json_in_strings.py": "realtime",
    "tests/fakeding/test_kit_imports.py": "process",
    "tests/fakeding/test_limits.py": "pure",
    "tests/fakeding/test_live.py": "process",
    "tests/fakeding/test_node_connection_leak.py": "external",
    "tests/fakeding/test_parity.py": "realtime",
    "tests/fakeding/test_platform.py": "pure",
    "tests/fakeding/test_plugin.py": "process",
    "tests/fakeding/test_protocol.py": "pure",
    "tests/fakeding/test_recorder.py": "pure",
    "tests/fakeding/test_reset_keeps_robots.py": "realtime",
    "tests/fakeding/test_robot_adapters.py": "virtual",
    "tests/fakeding/test_scenario_runner.py": "virtual",
    "tests/fakeding/test_scenario_speed.py": "process",
    "tests/fakeding/test_sdk_end_to_end.py": "realtime",
    "tests/fakeding/test_sdk_example_styles.py": "realtime",
    "tests/fakeding/test_sdk_faults.py": "realtime",
    "tests/fakeding/test_sdk_protocol_extras.py": "realtime",
    "tests/fakeding/test_several_robots.py": "realtime",
    "tests/fakeding/test_stream_engine.py": "pure",
    "tests/fakeding/test_stream_liveness.py": "realtime",
    "tests/fakeding/test_stream_ws.py": "realtime",
    "tests/fakeding/test_templates_cli.py": "process",
    "tests/fakeding/test_templates_markdown.py": "pure",
    "tests/fakeding/test_templates_platform.py": "realtime",
    "tests/fakeding/test_templates_render.py": "pure",
    "tests/fakeding/test_templates_scenarios.py": "virtual",
    "tests/fakeding/test_tiers.py": "pure",
    # TLS mode: other languages' clients and the CONNECT proxy
    "tests/tls/test_ca_and_env.py": "external",
    "tests/tls/test_custom_robot_tls.py": "process",
    "tests/tls/test_generated_client_node.py": "external",
    "tests/tls/test_java_client.py": "external",
    "tests/tls/test_live_rehearsal.py": "process",
    "tests/tls/test_node_sdk.py": "external",
    "tests/tls/test_sdk_media_upload.py": "process",
    "tests/tls/test_proxy_clients.py": "external",
    "tests/tls/test_serve_tls.py": "external",
    "tests/packaging": "external",
    # scenario files (collected by the kit's plugin): virtual time, except robots run by command
    "scenarios/byo/node_robot_by_command.yaml": "external",
    "scenarios/byo/python_robot_by_command.yaml": "process",
    "scenarios": "virtual",
}


def tier_of(relpath: str) -> str | None:
    """The tier of a file, by its own entry or its nearest listed folder; None when unlisted."""
    path = relpath.replace("\\", "/")
    while path:
        if path in TABLE:
            return TABLE[path]
        path = path.rpartition("/")[0]
    return None
