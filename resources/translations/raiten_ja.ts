<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ja_JP">
<context>
    <name>CameraGrid</name>
    <message>
        <location filename="../../desktopapp/ui/camera_grid.py" line="23"/>
        <source>No cameras are configured yet.

Raiten shows every person masked, keeps only face feature data for the period you set, and never stores a picture.</source>
        <translation>カメラはまだ登録されていません。

Raiten は映る人をすべてマスクして表示し、顔の特徴量だけを設定した期間保存します。画像は一切保存しません。</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="65"/>
        <source>Raiten — store camera analytics</source>
        <translation>Raiten — 店舗カメラ分析</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="74"/>
        <source>Settings could not be loaded; using defaults.</source>
        <translation>設定を読み込めませんでした。既定値で動作しています。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="84"/>
        <source>&amp;File</source>
        <translation>ファイル(&amp;F)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="85"/>
        <source>&amp;Quit</source>
        <translation>終了(&amp;Q)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="90"/>
        <source>&amp;Help</source>
        <translation>ヘルプ(&amp;H)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="91"/>
        <source>&amp;Models and licences…</source>
        <translation>モデルとライセンス(&amp;M)…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="94"/>
        <source>&amp;About Raiten</source>
        <translation>Raiten について(&amp;A)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="112"/>
        <source>The models could not be checked: %1</source>
        <translation>モデルを確認できませんでした: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="121"/>
        <source>About Raiten</source>
        <translation>Raiten について</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="123"/>
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
        <location filename="../../desktopapp/ui/main_window.py" line="36"/>
        <source>Models and licences</source>
        <translation>モデルとライセンス</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="40"/>
        <source>Model</source>
        <translation>モデル</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="40"/>
        <source>Licence</source>
        <translation>ライセンス</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="40"/>
        <source>Commercial use</source>
        <translation>商用利用</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="40"/>
        <source>Source</source>
        <translation>入手元</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="46"/>
        <source>yes</source>
        <translation>可</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="46"/>
        <source>no</source>
        <translation>不可</translation>
    </message>
</context>
</TS>
