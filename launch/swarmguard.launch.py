# ROS 2 launch file: runs `swarmguard run <launch yaml>` as one process hosting the whole swarm on one node
# (src/links/ros2/README.md). Usage, with ROS 2 sourced and rclnodejs built against it:
#   ros2 launch launch/swarmguard.launch.py launch_yaml:=launch/ros2-swarm.yaml namespace:=/lab1
# The launch YAML holds the swarm manifest (robot ids, robots file, arena), the policy and the link's topics.
from pathlib import Path

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess
from launch.substitutions import LaunchConfiguration

REPO = Path(__file__).resolve().parent.parent


def generate_launch_description():
    launch_yaml = LaunchConfiguration('launch_yaml')
    namespace = LaunchConfiguration('namespace')
    node_bin = LaunchConfiguration('node_bin')
    return LaunchDescription([
        DeclareLaunchArgument(
            'launch_yaml',
            default_value=str(REPO / 'launch' / 'ros2-swarm.yaml'),
            description='swarmguard launch YAML: swarm manifest (robots), policy, link: { kind: ros2, ... }',
        ),
        DeclareLaunchArgument(
            'namespace',
            default_value='',
            description="namespace of the swarmguard node (its ~/ services and topics); empty: the YAML's link.namespace",
        ),
        DeclareLaunchArgument('node_bin', default_value='node', description='Node.js (>= 20.20.2) executable'),
        ExecuteProcess(
            cmd=[node_bin, str(REPO / 'src' / 'bin' / 'swarmguard.js'), 'run', launch_yaml],
            cwd=str(REPO),
            additional_env={'SWARMGUARD_ROS2_NAMESPACE': namespace},
            output='screen',
            emulate_tty=True,
            # Ctrl-C reaches swarmguard as SIGINT: it stops the robots (zero cmd_vel) and writes its run folder.
            sigterm_timeout='10',
        ),
    ])
