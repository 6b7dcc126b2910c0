; Inno Setup 6 script: per-user Iris installer (no administrator rights needed).
;
;   iscc /DAppVersion=0.1.0 /DSourceDir=dist\iris /DOutputDir=dist ^
;        /DIconFile=resources\icons\iris.ico packaging\windows\iris.iss
;
; packaging/build.py windows passes all four; SourceDir is PyInstaller's one-folder
; bundle (iris.exe, the window; iris-cli.exe, the command line; _internal\).

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\iris"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif
#ifndef IconFile
  #define IconFile "..\..\resources\icons\iris.ico"
#endif

[Setup]
AppId={{6C1B7E2A-4F0D-4C69-9C6E-2E5B7D1A9F3E}
AppName=Iris
AppVersion={#AppVersion}
AppVerName=Iris {#AppVersion}
AppPublisher=The Iris developers
DefaultDirName={localappdata}\Programs\Iris
DefaultGroupName=Iris
DisableProgramGroupPage=yes
DisableDirPage=auto
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=Iris-{#AppVersion}-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\iris.exe
UninstallDisplayName=Iris
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; A new version may ship fewer files: start from a clean bundle folder.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\Iris"; Filename: "{app}\iris.exe"; WorkingDir: "{app}"
Name: "{autodesktop}\Iris"; Filename: "{app}\iris.exe"; WorkingDir: "{app}"; Tasks: desktopicon

[Run]
Filename: "{app}\iris.exe"; Description: "{cm:LaunchProgram,Iris}"; Flags: nowait postinstall skipifsilent
