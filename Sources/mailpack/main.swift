import MailKeepCommands

MailPack.main()
