"""Offline stand-in for the get-pip.py that ansible-test downloads to bootstrap pip.

ansible-test creates one virtual environment per sanity test without pip, then runs
~/.ansible/test/cache/get_pip_<version>.py inside it; the real script comes from
ci-files.testing.ansible.com, which CI cannot reach. scripts/sanity.sh installs this file
there instead (with the wheelhouse path filled in). It installs pip from the pinned wheel
and writes the environment's own pip.conf so that every later install ansible-test runs
in it takes tests/sanity/requirements.txt's wheels from the wheelhouse, never an index.
"""
# berth-sanity-get-pip: scripts/sanity.sh only overwrites a cached file with this marker.
import glob
import os
import subprocess
import sys

WHEELHOUSE = '@WHEELHOUSE@'


def main():
    # ansible-test asks for its pinned pip as a pip==<version> argument.
    version = next((arg.split('==', 1)[1] for arg in sys.argv[1:] if arg.startswith('pip==')), '*')
    pip_wheels = glob.glob(os.path.join(WHEELHOUSE, 'pip-%s-*.whl' % version))
    if not pip_wheels:
        sys.exit('sanity-get-pip: no pip %s wheel in %s; run scripts/sanity.sh to fill it' % (version, WHEELHOUSE))
    with open(os.path.join(sys.prefix, 'pip.conf'), 'w') as conf:
        conf.write('[global]\nno-index = true\nfind-links = %s\n' % WHEELHOUSE)
    # get-pip.py's own options; pip install does not know them.
    args = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
    # A pip wheel is runnable: <wheel>/pip is the documented way to install pip with itself.
    command = [sys.executable, os.path.join(pip_wheels[0], 'pip'), 'install', '--no-index', '--find-links', WHEELHOUSE]
    sys.exit(subprocess.call(command + args))


if __name__ == '__main__':
    main()
