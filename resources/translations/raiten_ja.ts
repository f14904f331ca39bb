<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ja_JP">
<context>
    <name>CameraDialog</name>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="42"/>
        <source>Edit camera</source>
        <translation>カメラの編集</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="42"/>
        <source>Add camera</source>
        <translation>カメラの追加</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="48"/>
        <source>USB camera</source>
        <translation>USB カメラ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="49"/>
        <source>Network camera (RTSP)</source>
        <translation>ネットワークカメラ (RTSP)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="50"/>
        <source>Network camera (HTTP MJPEG)</source>
        <translation>ネットワークカメラ (HTTP MJPEG)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="51"/>
        <source>Video file</source>
        <translation>動画ファイル</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="52"/>
        <source>Demo camera</source>
        <translation>デモカメラ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="57"/>
        <source>Browse…</source>
        <translation>参照…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="62"/>
        <source>Play the video again when it ends</source>
        <translation>動画の終わりで最初から再生する</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="66"/>
        <source>Pixelate</source>
        <translation>モザイク</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="67"/>
        <source>Blur</source>
        <translation>ぼかし</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="68"/>
        <source>Solid</source>
        <translation>塗りつぶし</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="75"/>
        <source> frames/s</source>
        <translation> フレーム/秒</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="78"/>
        <source>Name</source>
        <translation>名前</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="79"/>
        <source>Type</source>
        <translation>種類</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="80"/>
        <source>Address</source>
        <translation>アドレス</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="82"/>
        <source>Masking</source>
        <translation>マスク方法</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="83"/>
        <source>Analysis rate</source>
        <translation>解析頻度</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="85"/>
        <source>Test connection</source>
        <translation>接続テスト</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="89"/>
        <source>No preview yet. Test the connection, then click corners to draw privacy zones.</source>
        <translation>プレビューはまだありません。接続テストの後、映像上で角をクリックしてプライバシーゾーンを描けます。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="91"/>
        <source>Finish zone</source>
        <translation>ゾーンを確定</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="93"/>
        <source>Clear zones</source>
        <translation>ゾーンを消去</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="97"/>
        <source>Privacy zones (always masked): click corners on the picture</source>
        <translation>プライバシーゾーン（常にマスク）: 映像上で角をクリック</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="143"/>
        <source>Path of a video file</source>
        <translation>動画ファイルの場所</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="144"/>
        <source>The built-in demo needs no address</source>
        <translation>内蔵デモにアドレスは不要です</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="150"/>
        <source>Choose a video file</source>
        <translation>動画ファイルを選択</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="150"/>
        <source>Videos (*.mp4 *.avi *.mkv *.mov)</source>
        <translation>動画 (*.mp4 *.avi *.mkv *.mov)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="164"/>
        <source>Enter the camera&apos;s address.</source>
        <translation>カメラのアドレスを入力してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="169"/>
        <source>This address cannot be used: %1</source>
        <translation>このアドレスは使用できません: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="172"/>
        <source>The address does not match the chosen camera type.</source>
        <translation>アドレスが選択したカメラの種類と一致しません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="184"/>
        <source>Give the camera a name, e.g. &quot;Entrance&quot;.</source>
        <translation>カメラに名前を付けてください（例:「入口」）。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="201"/>
        <source>Connecting…</source>
        <translation>接続中…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="220"/>
        <source>Connected: %1×%2, %3 face(s) masked.</source>
        <translation>接続しました: %1×%2、顔 %3 件をマスクしました。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="228"/>
        <source>A zone needs at least three corners.</source>
        <translation>ゾーンには 3 つ以上の角が必要です。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="232"/>
        <source>No picture from this camera: %1</source>
        <translation>このカメラから映像を取得できません: %1</translation>
    </message>
</context>
<context>
    <name>CameraGrid</name>
    <message>
        <location filename="../../desktopapp/ui/camera_grid.py" line="28"/>
        <source>No cameras are configured yet.

Raiten shows every person masked, keeps only face feature data for the period you set, and never stores a picture.</source>
        <translation>カメラはまだ登録されていません。

Raiten は映る人をすべてマスクして表示し、顔の特徴量だけを設定した期間保存します。画像は一切保存しません。</translation>
    </message>
</context>
<context>
    <name>CameraTile</name>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="74"/>
        <source>Not analysing</source>
        <translation>解析停止中</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="77"/>
        <source>Connecting…</source>
        <translation>接続中…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="81"/>
        <source>Reconnecting…</source>
        <translation>再接続中…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="82"/>
        <source>Reconnecting… last picture %1 s ago</source>
        <translation>再接続中… 最後の映像は %1 秒前</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="84"/>
        <source>Cannot read this camera: %1</source>
        <translation>このカメラを読み込めません: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="86"/>
        <source>Video ended</source>
        <translation>動画が終了しました</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="88"/>
        <source>%1 fps · faces: %2</source>
        <translation>%1 fps · 顔: %2</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="125"/>
        <source>Waiting for picture…</source>
        <translation>映像を待っています…</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="89"/>
        <source>Raiten — store camera analytics</source>
        <translation>Raiten — 店舗カメラ分析</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="113"/>
        <source>Settings could not be loaded; using defaults.</source>
        <translation>設定を読み込めませんでした。既定値で動作しています。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="124"/>
        <source>&amp;File</source>
        <translation>ファイル(&amp;F)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="125"/>
        <source>&amp;Quit</source>
        <translation>終了(&amp;Q)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="130"/>
        <source>&amp;Cameras</source>
        <translation>カメラ(&amp;C)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="131"/>
        <source>&amp;Add camera…</source>
        <translation>カメラを追加(&amp;A)…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="134"/>
        <source>&amp;Edit camera</source>
        <translation>カメラを編集(&amp;E)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="135"/>
        <source>&amp;Remove camera</source>
        <translation>カメラを削除(&amp;R)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="136"/>
        <source>&amp;Layout</source>
        <translation>レイアウト(&amp;L)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="145"/>
        <source>&amp;Help</source>
        <translation>ヘルプ(&amp;H)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="146"/>
        <source>&amp;Models and licences…</source>
        <translation>モデルとライセンス(&amp;M)…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="149"/>
        <source>&amp;About Raiten</source>
        <translation>Raiten について(&amp;A)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="167"/>
        <source>The models could not be checked: %1</source>
        <translation>モデルを確認できませんでした: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="201"/>
        <source>Expired data could not be deleted yet; Raiten will try again: %1</source>
        <translation>期限切れのデータをまだ削除できません。Raiten が再試行します: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="208"/>
        <source>The data folder cannot be opened: %1</source>
        <translation>データフォルダを開けません: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="232"/>
        <source>Demo camera</source>
        <translation>デモカメラ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="233"/>
        <source>DEMO</source>
        <translation>デモ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="295"/>
        <source>Remove camera</source>
        <translation>カメラの削除</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="296"/>
        <source>Remove the camera &quot;%1&quot;?</source>
        <translation>カメラ「%1」を削除しますか？</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="336"/>
        <source>This camera cannot start: %1</source>
        <translation>このカメラを開始できません: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="351"/>
        <source>About Raiten</source>
        <translation>Raiten について</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="353"/>
        <source>Raiten %1

Camera analytics for stores, following METI/MIC&apos;s Guidebook for Utilization of Camera Images. Pictures are analysed in memory and never stored.</source>
        <translation>Raiten %1

経済産業省・総務省「カメラ画像利活用ガイドブック」に沿った店舗向けカメラ分析。画像はメモリ上で解析し、保存しません。</translation>
    </message>
</context>
<context>
    <name>ModelStatusPanel</name>
    <message>
        <location filename="../../desktopapp/ui/model_status.py" line="22"/>
        <source>Detection</source>
        <translation>顔検出</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/model_status.py" line="23"/>
        <source>Features</source>
        <translation>特徴量</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/model_status.py" line="24"/>
        <source>Age/gender</source>
        <translation>年代・性別</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/model_status.py" line="25"/>
        <source>Persons</source>
        <translation>人物検出</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/model_status.py" line="31"/>
        <source>model file %1 is missing. Reinstall Raiten.</source>
        <translation>モデルファイル %1 がありません。Raiten を再インストールしてください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/model_status.py" line="33"/>
        <source>model file %1 is damaged or was replaced (SHA-256 mismatch). Reinstall Raiten.</source>
        <translation>モデルファイル %1 が破損しているか置き換えられています（SHA-256 不一致）。Raiten を再インストールしてください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/model_status.py" line="35"/>
        <source>model file %1 cannot be read.</source>
        <translation>モデルファイル %1 を読み込めません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/model_status.py" line="36"/>
        <source>model file %1 is not a usable model.</source>
        <translation>モデルファイル %1 はモデルとして使用できません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/model_status.py" line="37"/>
        <source>model %1 is not known.</source>
        <translation>モデル %1 は登録されていません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/model_status.py" line="38"/>
        <source>model list %1 is missing or damaged.</source>
        <translation>モデル一覧 %1 がないか破損しています。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/model_status.py" line="51"/>
        <source>Checking models…</source>
        <translation>モデルを確認中…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/model_status.py" line="60"/>
        <source>non-commercial use only</source>
        <translation>非商用利用のみ</translation>
    </message>
</context>
<context>
    <name>ModelsDialog</name>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="52"/>
        <source>Models and licences</source>
        <translation>モデルとライセンス</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="56"/>
        <source>Model</source>
        <translation>モデル</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="56"/>
        <source>Licence</source>
        <translation>ライセンス</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="56"/>
        <source>Commercial use</source>
        <translation>商用利用</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="56"/>
        <source>Source</source>
        <translation>入手元</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="62"/>
        <source>yes</source>
        <translation>可</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="62"/>
        <source>no</source>
        <translation>不可</translation>
    </message>
</context>
<context>
    <name>NoticeTexts</name>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="11"/>
        <source>operator (company) name</source>
        <translation>事業者名</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="12"/>
        <source>store name</source>
        <translation>店舗名</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="13"/>
        <source>purpose of use</source>
        <translation>利用目的</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="14"/>
        <source>items acquired</source>
        <translation>取得する項目</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="15"/>
        <source>contact point</source>
        <translation>問い合わせ先</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="16"/>
        <source>privacy policy URL</source>
        <translation>プライバシーポリシーの URL</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="17"/>
        <source>feedback URL</source>
        <translation>ご意見受付の URL</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="18"/>
        <source>retention period</source>
        <translation>保存期間</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="23"/>
        <source>%1 is not filled in</source>
        <translation>%1が未入力です</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="24"/>
        <source>%1 must be a web address (https://…)</source>
        <translation>%1はウェブアドレス（https://…）にしてください</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="25"/>
        <source>%1 must say that face feature data is matched</source>
        <translation>%1に顔の特徴量を照合することを明記してください</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="30"/>
        <source>; </source>
        <translation>、</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="31"/>
        <source>Analysis is blocked until the notice profile is complete: %1</source>
        <translation>告知内容が揃うまで解析は開始できません: %1</translation>
    </message>
</context>
</TS>
