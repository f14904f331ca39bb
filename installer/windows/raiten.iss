; Inno Setup 6 script: Raiten's Windows installer, from the one-folder bundle that
; installer/raiten.spec builds in dist\raiten (see installer/README.md, "Windows").
;
;   ISCC.exe /DAppVersion=0.1.0 installer\windows\raiten.iss
;
; gives dist\raiten-<version>-windows-x64-setup.exe. It installs for the current user by default
; (no administrator needed; the setup offers an all-users install), creates Start-menu and
; desktop shortcuts to raiten-gui.exe, and its uninstaller asks whether to keep the data folder.
; Saved as UTF-8 with a BOM so that Inno Setup reads the Japanese messages correctly.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define Root "..\.."

[Setup]
AppId={{8051AB6E-AB8C-41DD-BEE6-F6C287FB9FEC}
AppName=Raiten
AppVersion={#AppVersion}
AppVerName=Raiten {#AppVersion}
AppPublisher=Raiten
DefaultDirName={autopf}\Raiten
DefaultGroupName=Raiten
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#Root}\dist
OutputBaseFilename=raiten-{#AppVersion}-windows-x64-setup
SetupIconFile={#Root}\resources\icons\raiten.ico
UninstallDisplayIcon={app}\raiten-gui.exe
UninstallDisplayName=Raiten
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
; Raiten must not be running while its files are replaced or removed.
CloseApplications=yes

[Languages]
Name: "ja"; MessagesFile: "compiler:Languages\Japanese.isl"
Name: "en"; MessagesFile: "compiler:Default.isl"

[CustomMessages]
ja.KeepData=Raiten のデータフォルダーを残しますか？%n%n%1%n%n来店記録・統計・設定・監査ログが入っています。「はい」で残し（再インストール後にそのまま使えます）、「いいえ」で特徴量データを含めて完全に削除します。
en.KeepData=Keep Raiten's data folder?%n%n%1%n%nIt holds the visit records, statistics, settings and the audit log. Yes keeps it for a later installation; No deletes it for good, feature data included.

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"

[Files]
; The whole bundle: raiten.exe (command line), raiten-gui.exe (no console), models\ beside them,
; _internal\ with Python, Qt, the libraries, the face models and resources.
Source: "{#Root}\dist\raiten\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Raiten"; Filename: "{app}\raiten-gui.exe"; WorkingDir: "{app}"
Name: "{group}\{cm:UninstallProgram,Raiten}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\Raiten"; Filename: "{app}\raiten-gui.exe"; WorkingDir: "{app}"; Tasks: desktopicon

[Run]
Filename: "{app}\raiten-gui.exe"; Description: "{cm:LaunchProgram,Raiten}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Written by `raiten models register` beside the shipped manifest.
Type: files; Name: "{app}\models\manifest.local.toml"

[Code]
// The data folder is platformdirs' user_data_dir("Raiten", "Raiten") and the demo's folder
// beside it (desktopapp.core.config, desktopapp.core.demo). A folder chosen with --data-dir or
// RAITEN_DATA_DIR is the operator's own and is never touched.
function RaitenDataDir(): String;
begin
  Result := ExpandConstant('{localappdata}\Raiten\Raiten');
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  DemoDir: String;
begin
  if CurUninstallStep <> usPostUninstall then
    Exit;
  DemoDir := RaitenDataDir() + '-demo';
  if not DirExists(RaitenDataDir()) and not DirExists(DemoDir) then
    Exit;
  // Keeping is the default, and the answer of a silent uninstall: data is deleted only when
  // a person says so.
  if SuppressibleMsgBox(FmtMessage(CustomMessage('KeepData'), [RaitenDataDir()]),
       mbConfirmation, MB_YESNO or MB_DEFBUTTON1, IDYES) = IDNO then
  begin
    DelTree(RaitenDataDir(), True, True, True);
    DelTree(DemoDir, True, True, True);
    RemoveDir(ExpandConstant('{localappdata}\Raiten'));
  end;
end;
