from crm_cli.launcher import main

main()
