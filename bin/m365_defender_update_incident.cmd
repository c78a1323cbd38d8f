@echo off
rem Launcher for "m365_defender_update_incident" (TA-m365-defender). splunkd on Windows runs
rem bin\<name>.cmd; the binary inherits stdin, stdout and stderr, and its
rem exit code is passed back to splunkd.
"%~dp0windows_x86_64\m365defender.exe" m365_defender_update_incident %*
exit /b %ERRORLEVEL%
