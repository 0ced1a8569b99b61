"""Top-level commands, the module that registers each and its one-line help, generated from the commands by
``securebase.cli.command_index()`` (``tests/foundation/test_foundation_cli_index.py`` checks it is current), so
``securebase --help`` lists the commands without importing them."""

COMMANDS: dict[str, tuple[str, str]] = {
    'analyse': ('analyse', 'Run a statistical analysis plan on external data; write results.json and results.md.'),
    'audit': ('core', 'Check and read the hash-chained audit trail.'),
    'backup': ('interop', 'Back up the whole store (every table, the audit chain included) to a portable zip.'),
    'compare': ('interop', 'Compare every row of two stores; exit code 1 when they differ.'),
    'demo': ('demo', "Create a fresh SQLite trial 'ng26-care', run it end to end on synthetic data, and write..."),
    'design': ('design', 'Trial design: sample size, simulated trials, power by simulation.'),
    'economics': ('economics', 'Cost-effectiveness analysis: SUR of costs and QALYs, bootstrap, MI by arm, CEAC/EVPI,...'),
    'export': ('interop', 'Export a trial: CDISC ODM 1.3.2, REDCap, or analysis files (CSV, Parquet, Stata).'),
    'import': ('interop', 'Import CDISC ODM 1.3.2 or a REDCap project into a trial.'),
    'init': ('core', 'Create the store (if needed), load a protocol into it and create the first administrator.'),
    'instruments': ('instruments', 'Outcome instruments: definitions, scoring, REDCap dictionaries.'),
    'invite': ('invite', 'Questionnaire links: invitations and reminders.'),
    'keygen': ('core', 'Print a new encryption key for SECUREBASE_ENCRYPTION_KEY (keep it safe: lost key, lost...'),
    'lock': ('interop', "Database lock: freeze a trial's data, release it with a reason, or check it."),
    'protocol': ('core', 'Validate and show trial protocols.'),
    'qual': ('qualitative', 'Qualitative data: transcripts, coding, agreement, framework matrix, REFI-QDA.'),
    'randomisation': ('randomisation', 'Allocation lists and the properties report of a randomisation scheme.'),
    'randomise': ('randomisation', 'Randomise an eligible, consented participant (or show their allocation if already...'),
    'report': ('report', 'Write the CONSORT flow, baseline table, outcomes, cost effectiveness, CHEERS items and...'),
    'restore': ('interop', 'Restore a backup into an empty store (SQLite or PostgreSQL); then run `securebase audit...'),
    'secret': ('core', 'Write a random session secret to SECUREBASE_SECRET_FILE (what `securebase init` does...'),
    'serve': ('serve', 'Serve the staff web pages and the JSON API (/api, OpenAPI schema at /api/openapi.json).'),
    'settings': ('settings_cmd', 'List every setting: environment variable, current value and what it does.'),
    'unblind': ('randomisation', 'Emergency unblinding: request, decide, reveal, report.'),
    'user': ('users', 'User accounts, roles and API tokens.'),
}
