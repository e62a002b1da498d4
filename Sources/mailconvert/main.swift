import MailKeepCommands

MailConvert.main()
