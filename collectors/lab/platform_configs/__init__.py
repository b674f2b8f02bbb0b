"""Running-configurations and show outputs of the simulated Huawei VRP, Junos, ArubaOS-Switch and
PAN-OS devices, one module per platform (the Cisco IOS and FortiOS ones are in ``configs.py``).

Every module offers the same small surface, read by ``configs.py`` and the SSH lab:

    PLATFORM                   the netmiko device type, e.g. "huawei_vrp"
    NOT_APPLICABLE             rule ids no device of the platform can be made to break, and why
    IMPLIES                    rule -> rules its insecure form necessarily also breaks
    applicable_rules(is_firewall=...)
    running_config(hostname, violations, *, is_firewall, mgmt_subnet, model, os_version, username)
    command_outputs(hostname, model, serial, os_version, running_config, *, mac)
                               {command: output} for every command the collector or netmiko sends
"""
