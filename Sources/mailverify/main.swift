import MailKeepCommands

MailVerify.main()
