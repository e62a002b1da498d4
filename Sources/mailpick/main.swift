import MailKeepCommands

MailPick.main()
