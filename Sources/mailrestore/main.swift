import MailKeepCommands

MailRestore.main()
