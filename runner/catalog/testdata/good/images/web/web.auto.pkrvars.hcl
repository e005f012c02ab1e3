motd_script = "../../resources/motd.sh"
