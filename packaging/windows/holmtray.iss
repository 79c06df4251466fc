; Inno Setup 6 script for holmtray: installs the PyInstaller folder (dist\holmtray).
;
;   pyinstaller --noconfirm --clean packaging\holmtray.spec
;   iscc packaging\windows\holmtray.iss
;
; writes dist\holmtray-<version>-setup.exe. See packaging\windows\README.md.
; Override paths on the command line: iscc /DDistDir=... /DIconFile=... holmtray.iss

#define AppName "holmtray"
#define AppId "io.github.holmtray.holmtray"
#ifndef DistDir
  #define DistDir "..\..\dist\holmtray"
#endif
#ifndef IconFile
  ; Rendered from resources\holmtray.svg by the spec (make_icons.py --ico).
  #define IconFile "..\..\build\pyinstaller\holmtray\icons\holmtray.ico"
#endif
#ifndef AppVersion
  ; The exe's version resource, which the spec sets from holmtray.__version__.
  #define AppVersion GetVersionNumbersString(DistDir + "\holmtray.exe")
#endif

[Setup]
; AppId identifies the installation for upgrades and uninstall: never change it.
AppId={{1E4E2682-12E8-43B5-9690-1A0BD825E52A}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=holmtray developers
AppPublisherURL=https://github.com/holmtray/holmtray
AppSupportURL=https://github.com/holmtray/holmtray/issues
; {autopf}: "Program Files" when installed for all users, the user's Programs folder otherwise.
DefaultDirName={autopf}\holmtray
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; Per-user by default (no administrator rights; the start-at-login value is the installing
; user's own); the setup offers "install for all users" too.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=holmtray-{#AppVersion}-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\holmtray.exe
UninstallDisplayName={#AppName}
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
; Closes a running holmtray before files are replaced or removed.
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "startatlogin"; Description: "Start holmtray when I log in"; GroupDescription: "Options:"; Flags: unchecked

[Files]
Source: "{#DistDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
; The shortcut carries the AppUserModelID the app sets at run time
; (holmtray/ui/platform_integration.py), so its notifications show holmtray's name and icon.
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\holmtray.exe"; WorkingDir: "{app}"; Comment: "Desktop alerts for Holm Security webhooks"; AppUserModelID: "{#AppId}"

[Registry]
; The same value the app's own "Start holmtray when I log in" setting writes
; (holmtray/core/autostart.py: HKCU\...\Run, value "holmtray", the quoted executable path).
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: string; ValueName: "holmtray"; ValueData: """{app}\holmtray.exe"""; Tasks: startatlogin; Flags: uninsdeletevalue

[Run]
Filename: "{app}\holmtray.exe"; Description: "Start holmtray now"; Flags: nowait postinstall skipifsilent

[UninstallRun]
; Stop a running holmtray before its files go. Forced, because the tray app has no window to
; close; every stored event is already committed (SQLite, synchronous=FULL), so none is lost.
Filename: "{sys}\taskkill.exe"; Parameters: "/F /IM holmtray.exe"; Flags: runhidden; RunOnceId: "StopHolmtray"

[Code]
// The app can turn start at login on by itself (Settings), so remove the Run value on
// uninstall even when the installer's task did not write it.
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usPostUninstall then
    RegDeleteValue(HKEY_CURRENT_USER, 'Software\Microsoft\Windows\CurrentVersion\Run', 'holmtray');
end;
