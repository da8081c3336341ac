; Inno Setup 6 script of the KIM Desktop installer (Windows, x64).
;
; Input: the PyInstaller one-folder bundle (installer/kim-desktop.spec -> dist\kim-desktop\).
; Build (from the repository root, after the bundle):
;   iscc /DAppVersion=0.1.0 installer\kim-desktop.iss
; Output: dist\installer\KIM-Desktop-Setup-<version>.exe
;
; Per-user or per-machine: the installer starts without administrator rights and asks (dialog) whether to
; install for the current user only ({localappdata}\Programs\KIM Desktop, no admin) or for all users
; (Program Files, needs admin). Silent: /CURRENTUSER or /ALLUSERS.
;
; Uninstalling removes the program folder, the start menu entries and the desktop icon. It does NOT remove
; the data: databases, backups, key slots and logs stay in each user's data folder
; (%LOCALAPPDATA%\kim-desktop), as do shared databases on a server. That is deliberate (case files must
; not disappear with a program update or a reinstall); the uninstaller says where they are.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef BundleDir
  #define BundleDir "..\dist\kim-desktop"
#endif
#ifndef OutputDir
  #define OutputDir "..\dist\installer"
#endif
#define AppName "KIM Desktop"
#define AppExe "kim-desktop.exe"
#define AppCliExe "kim-desktop-cli.exe"
#define AppPublisher "KIM Desktop"

[Setup]
; AppId identifies the installation for updates and the uninstaller: never change it.
AppId={{99499401-3E9D-4AE4-8B50-0DC6EA020154}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppPublisher}
AppComments={cm:AppComment}
VersionInfoVersion={#AppVersion}
VersionInfoProductName={#AppName}
VersionInfoProductVersion={#AppVersion}
VersionInfoDescription={#AppName} Setup
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog commandline
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
SetupIconFile=kim-desktop.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
WizardStyle=modern
Compression=lzma2/max
SolidCompression=yes
OutputDir={#OutputDir}
OutputBaseFilename=KIM-Desktop-Setup-{#AppVersion}
ShowLanguageDialog=auto
LanguageDetectionMethod=uilanguage
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "de"; MessagesFile: "compiler:Languages\German.isl"
Name: "en"; MessagesFile: "compiler:Default.isl"

[CustomMessages]
de.AppComment=Fallmanagement im Kommunalen Integrationsmanagement (KIM) in NRW
en.AppComment=Case management for the Kommunales Integrationsmanagement (KIM) in North Rhine-Westphalia
de.DemoShortcut=KIM Desktop – Demo mit Beispieldaten
en.DemoShortcut=KIM Desktop – demo with sample data
de.DemoComment=Startet mit einer Demo-Datenbank (nur synthetische Daten)
en.DemoComment=Starts with a demo database (synthetic data only)
de.UninstallShortcut=KIM Desktop deinstallieren
en.UninstallShortcut=Uninstall KIM Desktop
de.LaunchNow=KIM Desktop jetzt starten
en.LaunchNow=Start KIM Desktop now
de.DataKept=KIM Desktop wurde entfernt.%n%nIhre Daten wurden NICHT gelöscht: Datenbanken, Sicherungen und Protokolle liegen weiterhin im Datenordner jeder Benutzerin und jedes Benutzers (%1). Löschen Sie diesen Ordner nur, wenn die Daten nicht mehr gebraucht werden und die Aufbewahrungsfristen abgelaufen sind.
en.DataKept=KIM Desktop has been removed.%n%nYour data has NOT been deleted: databases, backups and logs remain in each user's data folder (%1). Delete that folder only when the data is no longer needed and the retention periods have ended.

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; Comment: "{cm:AppComment}"
Name: "{group}\{cm:DemoShortcut}"; Filename: "{app}\{#AppExe}"; Parameters: "--demo"; WorkingDir: "{app}"; Comment: "{cm:DemoComment}"
Name: "{group}\{cm:UninstallShortcut}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchNow}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Only the program folder (files PyInstaller's bootloader or Python may have added at run time).
Type: filesandordirs; Name: "{app}\_internal"

[Code]
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if (CurUninstallStep = usPostUninstall) and not UninstallSilent() then
    MsgBox(FmtMessage(CustomMessage('DataKept'), [ExpandConstant('{localappdata}\kim-desktop')]), mbInformation, MB_OK);
end;
