# ROS 2 launch file: swarmguard as a ROS 2 node (launch_ros Node), one process hosting the whole swarm on one
# node (src/links/ros2/README.md). Usage, with ROS 2 sourced and rclnodejs built against it:
#   ros2 launch launch/swarmguard.launch.py launch_yaml:=launch/ros2-swarm.yaml namespace:=lab1 use_sim_time:=true
# or included from another launch file, whose PushRosNamespace, SetRemap, SetParameter and SetUseSimTime reach
# the node as they reach any launch_ros Node. The launch YAML holds the swarm manifest (robot ids, robots file,
# arena), the policy and the link's topics; a relative launch_yaml or params_file is the caller's: resolved
# against the working directory `ros2 launch` runs in, which is also the node's.
import os
from pathlib import Path

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

REPO = Path(__file__).resolve().parent.parent
# `swarmguard run` that also takes --ros-args (src/cli/ros2-node.ts); its shebang runs the `node` on PATH.
NODE_SCRIPT = REPO / 'src' / 'bin' / 'swarmguard-ros2.js'
CMD_VEL_TYPES = ('geometry_msgs/msg/Twist', 'geometry_msgs/msg/TwistStamped')


def callers_file(argument, value):
    """A file named on the command line: relative names are the caller's (the launch process's working directory)."""
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = Path(os.getcwd()) / path
    if not path.is_file():
        raise RuntimeError(f'swarmguard.launch.py: {argument}:={value}: no such file ({path})')
    return path


def swarmguard_node(context):
    def arg(name):
        return LaunchConfiguration(name).perform(context).strip()

    launch_yaml = callers_file('launch_yaml', arg('launch_yaml'))
    # Only what is given is passed on: an unset use_sim_time leaves a parent's SetUseSimTime in force, an unset
    # cmd_vel_type leaves the YAML's link.cmdVelType.
    parameters = []
    if arg('params_file'):
        parameters.append(callers_file('params_file', arg('params_file')))
    if arg('use_sim_time'):
        if arg('use_sim_time').lower() not in ('true', 'false'):
            raise RuntimeError(f"swarmguard.launch.py: use_sim_time:={arg('use_sim_time')}: true or false")
        parameters.append({'use_sim_time': arg('use_sim_time').lower() == 'true'})
    if arg('cmd_vel_type'):
        if arg('cmd_vel_type') not in CMD_VEL_TYPES:
            raise RuntimeError(f"swarmguard.launch.py: cmd_vel_type:={arg('cmd_vel_type')}: one of {', '.join(CMD_VEL_TYPES)}")
        parameters.append({'cmd_vel_type': arg('cmd_vel_type')})
    node_bin = arg('node_bin')
    return [
        Node(
            executable=node_bin or str(NODE_SCRIPT),
            arguments=([str(NODE_SCRIPT)] if node_bin else []) + [str(launch_yaml)],
            # Empty: the namespace a parent pushed, if any (else the YAML's link.namespace). Relative: under it.
            namespace=arg('namespace') or None,
            # The name goes as a remapping rather than name=: with a name and a namespace, launch_ros keys the
            # parameter file it writes by the node's full name, which rclnodejs 2.2.0 does not match (it takes
            # '/**' and the bare node name only); without name= the file is keyed '/**'.
            ros_arguments=['-r', f"__node:={arg('node_name')}"] if arg('node_name') else None,
            parameters=parameters,
            output='screen',
            emulate_tty=True,
            # Shutdown sends SIGINT first: swarmguard stops the robots (zero cmd_vel) and writes its run folder.
            sigterm_timeout='10',
        ),
    ]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument(
            'launch_yaml',
            default_value=str(REPO / 'launch' / 'ros2-swarm.yaml'),
            description='swarmguard launch YAML (swarm manifest, policy, link: { kind: ros2, ... }); relative: to the working directory',
        ),
        DeclareLaunchArgument(
            'namespace',
            default_value='',
            description="the node's namespace (its ~/ services and topics); empty: a pushed namespace, else the YAML's link.namespace",
        ),
        DeclareLaunchArgument('node_name', default_value='', description="the node's name; empty: the YAML's link.node (default swarmguard)"),
        DeclareLaunchArgument('use_sim_time', default_value='', description='true: the node clock follows /clock; empty: as set by a parent launch file, else false'),
        DeclareLaunchArgument('cmd_vel_type', default_value='', description="cmd_vel type of robots without their own in the YAML: geometry_msgs/msg/Twist or geometry_msgs/msg/TwistStamped; empty: the YAML's link.cmdVelType"),
        DeclareLaunchArgument('params_file', default_value='', description="a ROS 2 parameter file for the node (keys '/**' or the node's bare name); relative: to the working directory"),
        DeclareLaunchArgument('node_bin', default_value='', description='Node.js (>= 20.20.2) executable; empty: the node on PATH'),
        OpaqueFunction(function=swarmguard_node),
    ])
