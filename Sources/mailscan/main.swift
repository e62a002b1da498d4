import MailKeepCommands

MailScan.main()
