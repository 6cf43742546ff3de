"""Evaluates launch/swarmguard.launch.py without ROS 2, for test/ros2-launch-file.test.ts.

Stand-ins for the few launch / launch_ros names the file uses record what it builds; the launch description is
generated, its arguments take their defaults unless given, and its OpaqueFunction is run the way launch runs
it (with a context holding the launch configurations). Prints one JSON line: the declared arguments and the
keyword arguments of every launch_ros Node built, or the error raised.

usage: python3 -B ros2_launch_harness.py <launch file> '<JSON object of launch arguments>'
"""
import importlib.util
import json
import sys
import types


class LaunchDescription:
    def __init__(self, entities):
        self.entities = list(entities)


class DeclareLaunchArgument:
    def __init__(self, name, default_value=None, description=''):
        self.name = name
        self.default_value = default_value
        self.description = description


class OpaqueFunction:
    def __init__(self, function):
        self.function = function


class LaunchConfiguration:
    def __init__(self, name):
        self.name = name

    def perform(self, context):
        return context.launch_configurations[self.name]


class Node:
    def __init__(self, **kwargs):
        self.kwargs = kwargs


def stub(name, **members):
    module = types.ModuleType(name)
    module.__dict__.update(members)
    sys.modules[name] = module


stub('launch', LaunchDescription=LaunchDescription)
stub('launch.actions', DeclareLaunchArgument=DeclareLaunchArgument, OpaqueFunction=OpaqueFunction)
stub('launch.substitutions', LaunchConfiguration=LaunchConfiguration)
stub('launch_ros')
stub('launch_ros.actions', Node=Node)


def plain(value):
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)  # pathlib.Path


def main():
    path, given = sys.argv[1], json.loads(sys.argv[2])
    spec = importlib.util.spec_from_file_location('swarmguard_launch', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    declared = [e for e in description.entities if isinstance(e, DeclareLaunchArgument)]
    unknown = set(given) - {d.name for d in declared}
    if unknown:
        raise SystemExit(f'not declared by the launch file: {sorted(unknown)}')
    context = types.SimpleNamespace(launch_configurations={d.name: given.get(d.name, d.default_value) for d in declared})
    result = {'arguments': {d.name: d.default_value for d in declared}}
    try:
        nodes = []
        for e in description.entities:
            if isinstance(e, OpaqueFunction):
                nodes += [n for n in e.function(context) if isinstance(n, Node)]
        result['nodes'] = [plain(n.kwargs) for n in nodes]
    except RuntimeError as err:
        result['error'] = str(err)
    print(json.dumps(result))


main()
