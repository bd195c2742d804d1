"""Per-test summary of an ansible-test sanity run (scripts/sanity.sh); exits 1 on an unexpected skip.

    python scripts/sanity-summary.py <timestamped log> <tests/output/junit of the run>

ansible-test skips a test quietly when it has nothing to check, and also when a program it needs is
missing (shellcheck, pwsh): both show up only as "No tests applicable". So every skip must be one
of EXPECTED_SKIPS, with the reason it is right for this collection; any other skip, or a warning that
ansible-test skipped something, fails the run.
"""
import glob
import os
import re
import sys
import xml.etree.ElementTree as ET

EXPECTED_SKIPS = {
    'empty-init': 'no __init__.py under plugins/ (the collection loader needs none)',
    'changelog': 'no changelogs/ fragments: CHANGELOG.md is written by hand',
    'pslint': 'no PowerShell files',
}
SKIP_WARNING = re.compile(r'WARNING: (Skipping|Required program)')
STARTED = re.compile(r'^\[ *(\d+)s\] Running sanity test "([^"]+)"')
STAMP = re.compile(r'^\[ *(\d+)s\]')
# One finding: ERROR: path:line:column: message
PROBLEM = re.compile(r'\] ERROR: [^ :]+:[0-9]+:[0-9]+: ')


def parse_log(log_lines):
    """({test: seconds}, {test: problems reported}) from the timestamped log."""
    starts, problems = [], {}
    last, current = 0, None
    for line in log_lines:
        stamp = STAMP.match(line)
        if stamp:
            last = int(stamp.group(1))
        started = STARTED.match(line)
        if started:
            current = started.group(2)
            starts.append((current, int(started.group(1))))
        elif current and PROBLEM.search(line):
            problems[current] = problems.get(current, 0) + 1
    ends = [start for _name, start in starts[1:]] + [last]
    return {name: end - start for (name, start), end in zip(starts, ends)}, problems


def results(junit_dir):
    """{test: (status, detail)} from ansible-test's JUnit files, one per test."""
    found = {}
    for path in sorted(glob.glob(os.path.join(junit_dir, 'ansible-test-sanity-*.xml'))):
        for case in ET.parse(path).getroot().iter('testcase'):
            name = re.sub(r'-python-[0-9.]+$', '', case.get('name'))  # compile, import: one Python here
            skipped, failures = case.find('skipped'), case.findall('failure')
            if failures:
                found[name] = ('FAIL', '')
            elif skipped is not None:
                found[name] = ('skipped', (skipped.text or '').strip())
            else:
                found[name] = ('PASS', '')
    return found


def main():
    log_path, junit_dir = sys.argv[1], sys.argv[2]
    with open(log_path, encoding='utf-8', errors='replace') as log:
        lines = log.read().splitlines()
    took, found = parse_log(lines)
    tests = results(junit_dir)
    problems = [line for line in lines if SKIP_WARNING.search(line)]
    print('\n==================== sanity summary ====================')
    for name in sorted(set(tests) | set(took)):
        status, detail = tests.get(name, ('no result', ''))
        if status == 'skipped':
            reason = EXPECTED_SKIPS.get(name)
            if reason:
                detail = 'expected: ' + reason
            else:
                status = 'SKIP?'
                problems.append('%s was skipped (%s) but is not an expected skip' % (name, detail))
        elif status == 'FAIL':
            detail = '%d finding(s)' % found[name] if name in found else 'see the output above'
        elif status == 'no result':
            problems.append('%s left no JUnit result' % name)
        print('  %-22s %-9s %4ss  %s' % (name, status, took.get(name, '?'), detail))
    counts = {}
    for status, _detail in tests.values():
        counts[status] = counts.get(status, 0) + 1
    print('  ' + ', '.join('%s %d' % item for item in sorted(counts.items())))
    for problem in problems:
        print('NOT RUN AS EXPECTED: ' + problem)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
