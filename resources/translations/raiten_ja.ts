<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ja_JP">
<context>
    <name>AccountTexts</name>
    <message>
        <location filename="../../desktopapp/ui/account_texts.py" line="21"/>
        <source>Administrator</source>
        <translation>管理者</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/account_texts.py" line="22"/>
        <source>Manager</source>
        <translation>マネージャー</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/account_texts.py" line="23"/>
        <source>Viewer</source>
        <translation>閲覧者</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/account_texts.py" line="28"/>
        <source>everything, including settings, cameras, requests and deletion</source>
        <translation>設定・カメラ・本人からの請求・削除を含むすべて</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/account_texts.py" line="29"/>
        <source>live view, dashboards, exports and signage</source>
        <translation>ライブ映像、ダッシュボード、エクスポート、掲示物</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/account_texts.py" line="30"/>
        <source>dashboards only</source>
        <translation>ダッシュボードのみ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/account_texts.py" line="35"/>
        <source>At least %1 characters with letters and digits; not your name, not a common password.</source>
        <translation>英字と数字を含む%1文字以上。名前やよく使われるパスワードは使えません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/account_texts.py" line="40"/>
        <source>The password is shorter than %1 characters.</source>
        <translation>パスワードが%1文字より短いです。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/account_texts.py" line="43"/>
        <source>The password is longer than 128 characters.</source>
        <translation>パスワードが128文字を超えています。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/account_texts.py" line="44"/>
        <source>The password needs at least one letter.</source>
        <translation>パスワードには英字を1文字以上含めてください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/account_texts.py" line="45"/>
        <source>The password needs at least one digit.</source>
        <translation>パスワードには数字を1文字以上含めてください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/account_texts.py" line="46"/>
        <source>The password must not contain the name.</source>
        <translation>パスワードに名前を含めることはできません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/account_texts.py" line="47"/>
        <source>This password is too common; choose another.</source>
        <translation>よく使われるパスワードです。別のものにしてください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/account_texts.py" line="57"/>
        <source>Too many wrong passwords: this account is locked until %1. Ask an administrator if you cannot wait.</source>
        <translation>パスワードの誤りが多すぎるため、このアカウントは%1までロックされています。お急ぎの場合は管理者にご相談ください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/account_texts.py" line="63"/>
        <source>A user name cannot be empty.</source>
        <translation>ユーザー名を空にはできません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/account_texts.py" line="64"/>
        <source>A user name can be at most %1 characters.</source>
        <translation>ユーザー名は %1 文字までです。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/account_texts.py" line="67"/>
        <source>A user name cannot contain control characters.</source>
        <translation>ユーザー名に制御文字は使えません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/account_texts.py" line="68"/>
        <source>An account named “%1” already exists.</source>
        <translation>「%1」という名前のアカウントはすでにあります。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/account_texts.py" line="71"/>
        <source>The first account must be an administrator.</source>
        <translation>最初のアカウントは管理者にしてください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/account_texts.py" line="72"/>
        <source>There is no account named “%1”.</source>
        <translation>「%1」という名前のアカウントはありません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/account_texts.py" line="76"/>
        <source>“%1” is the last administrator: make another account an administrator first.</source>
        <translation>「%1」は最後の管理者です。先に別のアカウントを管理者にしてください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/account_texts.py" line="80"/>
        <source>Raiten is already set up: an administrator has to add further accounts.</source>
        <translation>Raiten はすでに設定済みです。アカウントの追加は管理者が行ってください。</translation>
    </message>
</context>
<context>
    <name>AuditTexts</name>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="57"/>
        <source>Signed in</source>
        <translation>サインイン</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="58"/>
        <source>Sign-in failed</source>
        <translation>サインイン失敗</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="59"/>
        <source>Account locked</source>
        <translation>アカウントのロック</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="60"/>
        <source>First-run setup</source>
        <translation>初回設定</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="61"/>
        <source>Notice profile changed</source>
        <translation>告知内容の変更</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="62"/>
        <source>Signage printed</source>
        <translation>掲示物の出力</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="63"/>
        <source>Settings changed</source>
        <translation>設定の変更</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="64"/>
        <source>Camera saved</source>
        <translation>カメラの保存</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="65"/>
        <source>Camera removed</source>
        <translation>カメラの削除</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="66"/>
        <source>Account created</source>
        <translation>アカウントの作成</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="67"/>
        <source>Role changed</source>
        <translation>権限の変更</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="68"/>
        <source>Password changed</source>
        <translation>パスワードの変更</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="69"/>
        <source>Account removed</source>
        <translation>アカウントの削除</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="70"/>
        <source>Account unlocked</source>
        <translation>アカウントのロック解除</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="71"/>
        <source>Analysis stopped</source>
        <translation>分析の停止</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="72"/>
        <source>Staff enrolled</source>
        <translation>従業員の登録</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="73"/>
        <source>Staff removed</source>
        <translation>従業員の登録取り消し</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="74"/>
        <source>Request: search</source>
        <translation>請求対応：検索</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="75"/>
        <source>Request: erasure</source>
        <translation>請求対応：削除</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="76"/>
        <source>Request: opt-out</source>
        <translation>請求対応：利用停止（オプトアウト）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="77"/>
        <source>Request: opt-out withdrawn</source>
        <translation>請求対応：オプトアウトの取り消し</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="78"/>
        <source>Retention sweep</source>
        <translation>保存期間経過データの削除</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="79"/>
        <source>Purge of personal data</source>
        <translation>個人データの全削除</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="80"/>
        <source>Export</source>
        <translation>エクスポート</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="81"/>
        <source>Sales imported</source>
        <translation>売上データの取り込み</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="82"/>
        <source>Register linked to a camera</source>
        <translation>レジとカメラの対応付け</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="83"/>
        <source>Register unlinked</source>
        <translation>レジの対応付けの解除</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="84"/>
        <source>Database restored from a backup</source>
        <translation>バックアップからデータベースを復元</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="85"/>
        <source>Damaged database set aside</source>
        <translation>破損したデータベースを退避</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="90"/>
        <source>visitor</source>
        <translation>来店者</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="91"/>
        <source>visitors</source>
        <translation>来店者</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="92"/>
        <source>found</source>
        <translation>該当</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="93"/>
        <source>visits</source>
        <translation>来店</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="94"/>
        <source>feature records</source>
        <translation>特徴量データ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="95"/>
        <source>path points</source>
        <translation>動線の点</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="96"/>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="97"/>
        <source>camera</source>
        <translation>カメラ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="98"/>
        <source>name</source>
        <translation>名前</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="99"/>
        <source>role</source>
        <translation>権限</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="100"/>
        <source>before</source>
        <translation>変更前</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="101"/>
        <source>after</source>
        <translation>変更後</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="102"/>
        <source>notice version</source>
        <translation>告知の版</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="103"/>
        <source>language</source>
        <translation>言語</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="104"/>
        <source>paper</source>
        <translation>用紙</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="105"/>
        <source>file</source>
        <translation>ファイル</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="106"/>
        <source>format</source>
        <translation>形式</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="107"/>
        <source>from</source>
        <translation>開始</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="108"/>
        <source>to</source>
        <translation>終了</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="109"/>
        <source>store</source>
        <translation>店舗</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="110"/>
        <source>register</source>
        <translation>レジ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="111"/>
        <source>zone</source>
        <translation>エリア</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="112"/>
        <source>linked</source>
        <translation>対応付け</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="113"/>
        <source>imported</source>
        <translation>取り込み件数</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="114"/>
        <source>statistics kept</source>
        <translation>統計を残す</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="115"/>
        <source>changed</source>
        <translation>変更</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="116"/>
        <source>backup</source>
        <translation>バックアップ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="117"/>
        <source>set aside as</source>
        <translation>退避先</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="118"/>
        <source>anonymous visits</source>
        <translation>匿名の来店</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="119"/>
        <source>visits kept as statistics</source>
        <translation>統計として残した来店</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="120"/>
        <source>as of</source>
        <translation>基準時刻</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="121"/>
        <source>account</source>
        <translation>アカウント</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="127"/>
        <source>Raiten (automatic)</source>
        <translation>Raiten（自動）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="131"/>
        <source>%1 (command line)</source>
        <translation>%1（コマンドライン）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="133"/>
        <source>demo</source>
        <translation>デモ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="135"/>
        <source>settings file edited outside Raiten</source>
        <translation>Raiten の外で設定ファイルを編集</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="142"/>
        <source>yes</source>
        <translation>はい</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="142"/>
        <source>no</source>
        <translation>いいえ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="149"/>
        <source>%1 more</source>
        <translation>ほか %1 件</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="187"/>
        <source>Entry %1</source>
        <translation>記録 %1 番</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="188"/>
        <source>When: %1</source>
        <translation>日時: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="189"/>
        <source>Who: %1 (%2)</source>
        <translation>操作者: %1（%2）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="190"/>
        <source>What: %1 (%2)</source>
        <translation>操作: %1（%2）</translation>
    </message>
</context>
<context>
    <name>AuditViewer</name>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="213"/>
        <source>Audit log</source>
        <translation>監査ログ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="225"/>
        <source>All actions</source>
        <translation>すべての操作</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="229"/>
        <source>Who, e.g. tanaka</source>
        <translation>操作者（例: tanaka）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="231"/>
        <source>Show</source>
        <translation>表示</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="233"/>
        <source>From</source>
        <translation>期間</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="235"/>
        <source>to</source>
        <translation>〜</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="245"/>
        <source>When</source>
        <translation>日時</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="245"/>
        <source>Who</source>
        <translation>操作者</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="245"/>
        <source>What</source>
        <translation>操作</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="245"/>
        <source>Details</source>
        <translation>詳細</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="261"/>
        <source>Verify chain</source>
        <translation>改ざんチェック</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="266"/>
        <source>Details…</source>
        <translation>詳細…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="314"/>
        <source>%1 entries (newest first)</source>
        <translation>%1件（新しい順）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="316"/>
        <source>Newest %1 of %2 entries: narrow the period to see older ones.</source>
        <translation>%2件中、新しい%1件を表示しています。古い記録は期間を絞って表示してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="326"/>
        <source>Audit entry</source>
        <translation>監査ログの記録</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="333"/>
        <source>The audit log could not be read: %1</source>
        <translation>監査ログを読み込めません: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="337"/>
        <source>Checking…</source>
        <translation>確認中…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="345"/>
        <source>The chain is intact: all %1 entries are unchanged.</source>
        <translation>改ざんはありません。全%1件が記録時のままです。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="352"/>
        <source>The audit log has been altered (entry %1): %2</source>
        <translation>監査ログが改ざんされています（%1番）: %2</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/audit_viewer.py" line="359"/>
        <source>The check could not run: %1</source>
        <translation>チェックを実行できません: %1</translation>
    </message>
</context>
<context>
    <name>BenchDialog</name>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="244"/>
        <source>Check this PC&apos;s capacity</source>
        <translation>この PC の処理能力を調べる</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="251"/>
        <source>Raiten analyses test cameras showing six people at once, at this PC&apos;s settings, and measures how many cameras it can follow at 10 pictures a second or more. It takes about two minutes; other programs running now make the result lower. No picture is saved.</source>
        <translation>6 人が同時に映るテスト用カメラを、この PC の設定のまま解析し、1 秒に 10 枚以上の速さで何台のカメラを解析できるかを測ります。約 2 分かかります。ほかのプログラムが動いていると結果は低めになります。画像は保存しません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="274"/>
        <source>What was measured</source>
        <translation>測ったもの</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="274"/>
        <source>Result</source>
        <translation>結果</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="274"/>
        <source>Target</source>
        <translation>目標</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="282"/>
        <source>Start</source>
        <translation>開始</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="284"/>
        <source>Stop</source>
        <translation>中止</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="300"/>
        <source>Loading the models…</source>
        <translation>モデルを読み込んでいます…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="301"/>
        <source>Timing face and person detection…</source>
        <translation>顔と人物の検出時間を測っています…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="302"/>
        <source>Analysing test cameras…</source>
        <translation>テスト用カメラを解析しています…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="303"/>
        <source>Timing the search among returning visitors…</source>
        <translation>再来店者の照合時間を測っています…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="304"/>
        <source>Timing the deletion of old records…</source>
        <translation>古い記録の削除時間を測っています…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="305"/>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="318"/>
        <source>Measuring…</source>
        <translation>測定中…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="323"/>
        <source>Stopping…</source>
        <translation>中止しています…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="346"/>
        <source>Stopped. Nothing was measured to the end.</source>
        <translation>中止しました。最後まで測れたものはありません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="350"/>
        <source>The check could not finish: %1</source>
        <translation>測定を終えられませんでした: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="360"/>
        <source>Other programs kept this PC busy during the check; without them, cameras it could analyse: about %1.</source>
        <translation>測定中はほかのプログラムがこの PC を使っていました。それがなければ、解析できるカメラは約 %1 台の見込みです。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="370"/>
        <source>This PC cannot analyse even one camera at 10 pictures a second at these settings. Close other programs, or choose a simpler mode.</source>
        <translation>この設定では、この PC は 1 台のカメラも 1 秒 10 枚の速さで解析できません。ほかのプログラムを閉じるか、より軽い利用目的を選んでください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="375"/>
        <source>Cameras this PC can analyse at 10 pictures a second or more at these settings: %1 (the most that was tried).</source>
        <translation>この設定で、この PC が 1 秒 10 枚以上の速さで解析できるカメラ: %1 台 (試した最大の台数です)。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="379"/>
        <source>Cameras this PC can analyse at 10 pictures a second or more at these settings: %1.</source>
        <translation>この設定で、この PC が 1 秒 10 枚以上の速さで解析できるカメラ: %1 台。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="385"/>
        <source>Pictures analysed per second by each camera, %1 running at once</source>
        <translation>カメラ %1 台を同時に動かしたときの、1 台あたり 1 秒に解析した枚数</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="400"/>
        <source>Live view: pictures shown per second</source>
        <translation>ライブ映像: 1 秒に表示した枚数</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="405"/>
        <source>Longest pause of the window</source>
        <translation>画面がいちばん長く止まった時間</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="409"/>
        <source>Face detection per picture</source>
        <translation>1 枚あたりの顔検出</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="410"/>
        <source>Feature record per face</source>
        <translation>1 人の顔あたりの特徴量作成</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="412"/>
        <source>Search among 100,000 records</source>
        <translation>10 万件の中からの照合</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="417"/>
        <source>Search among 1,000,000 records (estimated)</source>
        <translation>100 万件の中からの照合 (推定)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="422"/>
        <source>Deleting 1,000,000 visits (estimated)</source>
        <translation>100 万件の来店記録の削除 (推定)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="427"/>
        <source>Retention sweep over 1,000,000 visits (estimated)</source>
        <translation>100 万件の来店記録の保存期間処理 (推定)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="432"/>
        <source>From start to the first masked picture</source>
        <translation>起動から最初のマスク済み画像まで</translation>
    </message>
</context>
<context>
    <name>CalibrationDialog</name>
    <message>
        <location filename="../../desktopapp/ui/calibration_dialog.py" line="76"/>
        <source>Floor calibration</source>
        <translation>床の位置合わせ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/calibration_dialog.py" line="83"/>
        <source>Click a spot on the floor in the camera&apos;s picture, then the same spot on the floor plan; repeat for at least four spots spread over the floor (corners of tiles, shelves or doors), in the same order on both.</source>
        <translation>カメラの映像で床の一点をクリックし、次に平面図で同じ場所をクリックします。床全体に散らばった4か所以上（床の目地・棚・ドアの角など）で、両方とも同じ順番で繰り返してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/calibration_dialog.py" line="92"/>
        <source>Test the camera&apos;s connection first.</source>
        <translation>先にカメラの接続テストをしてください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/calibration_dialog.py" line="94"/>
        <source>Load the floor plan picture.</source>
        <translation>平面図の画像を読み込んでください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/calibration_dialog.py" line="103"/>
        <source>Floor plan…</source>
        <translation>平面図…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/calibration_dialog.py" line="105"/>
        <source>Remove last pair</source>
        <translation>最後の組を取り消す</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/calibration_dialog.py" line="107"/>
        <source>Clear</source>
        <translation>消去</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/calibration_dialog.py" line="116"/>
        <source>Measure the store from wall to wall along the plan&apos;s width.</source>
        <translation>平面図の横方向に、店の壁から壁までを測って入力してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/calibration_dialog.py" line="119"/>
        <source>Width of the plan:</source>
        <translation>平面図の幅:</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/calibration_dialog.py" line="156"/>
        <source>Floor plan</source>
        <translation>平面図</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/calibration_dialog.py" line="156"/>
        <source>Pictures (*.png *.jpg *.jpeg *.bmp)</source>
        <translation>画像 (*.png *.jpg *.jpeg *.bmp)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/calibration_dialog.py" line="166"/>
        <source>The floor plan cannot be read: %1</source>
        <translation>平面図を読み込めません: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/calibration_dialog.py" line="182"/>
        <source>depth %1 m</source>
        <translation>奥行き %1 m</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/calibration_dialog.py" line="207"/>
        <source>%1 pairs marked: mark at least 4, each on both pictures.</source>
        <translation>%1組を指定しました。両方の画像で4組以上指定してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/calibration_dialog.py" line="216"/>
        <source>These points cannot be used: %1</source>
        <translation>この点では位置合わせできません: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/calibration_dialog.py" line="223"/>
        <source>%1 pairs fit, but four always fit exactly, so their accuracy cannot be checked: mark a fifth spot to check it.</source>
        <translation>%1組で位置合わせしましたが、4組では必ずぴったり合うため精度を確認できません。確認するために5か所目を指定してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/calibration_dialog.py" line="233"/>
        <source>%1 pairs fit; the largest error is at point %2 (%3 % of the plan).</source>
        <translation>%1組で位置合わせしました。誤差が最も大きいのは点%2です（平面図の%3 %）。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/calibration_dialog.py" line="237"/>
        <source>%1 pairs fit; checked against the others, the largest error is at point %2 (%3 % of the plan).</source>
        <translation>%1組で位置合わせしました。ほかの点で確かめると、誤差が最も大きいのは点%2です（平面図の%3 %）。</translation>
    </message>
</context>
<context>
    <name>CameraDialog</name>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="75"/>
        <source>Edit camera</source>
        <translation>カメラの編集</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="75"/>
        <source>Add camera</source>
        <translation>カメラの追加</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="83"/>
        <source>USB camera</source>
        <translation>USB カメラ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="84"/>
        <source>Network camera (RTSP)</source>
        <translation>ネットワークカメラ (RTSP)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="85"/>
        <source>Network camera (HTTP MJPEG)</source>
        <translation>ネットワークカメラ (HTTP MJPEG)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="86"/>
        <source>Video file</source>
        <translation>動画ファイル</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="91"/>
        <source>Demo camera</source>
        <translation>デモカメラ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="95"/>
        <source>Browse…</source>
        <translation>参照…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="100"/>
        <source>Play the video again when it ends</source>
        <translation>動画の終わりで最初から再生する</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="104"/>
        <source>Pixelate</source>
        <translation>モザイク</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="105"/>
        <source>Blur</source>
        <translation>ぼかし</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="106"/>
        <source>Solid</source>
        <translation>塗りつぶし</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="107"/>
        <source>Silhouette</source>
        <translation>シルエット</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="114"/>
        <source> frames/s</source>
        <translation> フレーム/秒</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="117"/>
        <source>Name</source>
        <translation>名前</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="118"/>
        <source>Type</source>
        <translation>種類</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="119"/>
        <source>Address</source>
        <translation>アドレス</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="121"/>
        <source>Masking</source>
        <translation>マスク方法</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="122"/>
        <source>Analysis rate</source>
        <translation>解析頻度</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="141"/>
        <source>busy from</source>
        <translation>やや混雑</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="142"/>
        <source>crowded from</source>
        <translation>混雑</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="143"/>
        <source>full from</source>
        <translation>満員</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="152"/>
        <source>People in a zone</source>
        <translation>エリア内の人数（以上）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="155"/>
        <source>Test connection</source>
        <translation>接続テスト</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="157"/>
        <source>Floor calibration…</source>
        <translation>床の位置合わせ…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="164"/>
        <source>No preview yet. Test the connection, then click corners to draw privacy zones.</source>
        <translation>プレビューはまだありません。接続テストの後、映像上で角をクリックしてプライバシーゾーンを描けます。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="167"/>
        <source>Privacy zone (always masked)</source>
        <translation>プライバシー領域（常にマスク）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="169"/>
        <source>Shelf</source>
        <translation>棚</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="170"/>
        <source>Checkout</source>
        <translation>レジ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="136"/>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="171"/>
        <source>Entrance</source>
        <translation>入口</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="124"/>
        <source>This camera watches the store&apos;s entrance: visits start here</source>
        <translation>このカメラは店の入口を映している（来店はここから始まる）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="172"/>
        <source>Other area</source>
        <translation>その他のエリア</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="175"/>
        <source>Counting line (two clicks)</source>
        <translation>計数線（2回クリック）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="177"/>
        <source>Zone name, e.g. Drinks</source>
        <translation>エリア名（例: 飲料）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="180"/>
        <source>Finish zone</source>
        <translation>ゾーンを確定</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="182"/>
        <source>Clear zones</source>
        <translation>ゾーンを消去</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="185"/>
        <source>Click the corners of a zone on the picture, then:</source>
        <translation>映像上でエリアの角をクリックしてから:</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="198"/>
        <source>Open the log folder</source>
        <translation>ログのフォルダーを開く</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="257"/>
        <source>Path of a video file</source>
        <translation>動画ファイルの場所</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="258"/>
        <source>The built-in demo needs no address</source>
        <translation>内蔵デモにアドレスは不要です</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="264"/>
        <source>Choose a video file</source>
        <translation>動画ファイルを選択</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="264"/>
        <source>Videos (*.mp4 *.avi *.mkv *.mov)</source>
        <translation>動画 (*.mp4 *.avi *.mkv *.mov)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="278"/>
        <source>Enter the camera&apos;s address.</source>
        <translation>カメラのアドレスを入力してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="284"/>
        <source>This address cannot be used: %1</source>
        <translation>このアドレスは使用できません: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="290"/>
        <source>The address does not match the chosen camera type.</source>
        <translation>アドレスが選択したカメラの種類と一致しません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="302"/>
        <source>Give the camera a name, e.g. &quot;Entrance&quot;.</source>
        <translation>カメラに名前を付けてください（例:「入口」）。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="307"/>
        <source>The crowd levels must rise: busy &lt; crowded &lt; full people in a zone.</source>
        <translation>混雑の段階は、やや混雑 &lt; 混雑 &lt; 満員 の順に人数が増えるよう設定してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="326"/>
        <source>These settings cannot be saved: %1</source>
        <translation>この設定は保存できません: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="352"/>
        <source>A person seen here starts a visit. Without a floor calibration the store&apos;s other cameras cannot add where they go next to it: use Floor calibration… to place this camera on the floor plan.</source>
        <translation>ここに映った人から来店が始まります。床の位置合わせがされていないため、店内のほかのカメラはその人がその後どこへ行ったかをこの来店に加えられません。「床の位置合わせ…」でこのカメラを店内図に配置してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="358"/>
        <source>A person seen here starts a visit; the store&apos;s other cameras add where they go next to the same visit.</source>
        <translation>ここに映った人から来店が始まります。店内のほかのカメラは、その人がその後どこへ行ったかを同じ来店に加えます。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="363"/>
        <source>This camera has no floor calibration, so the people it sees cannot be joined to the visit that began at the entrance: each becomes a visit of its own. Use Floor calibration… to place it on the floor plan.</source>
        <translation>このカメラは床の位置合わせがされていないため、映った人を入口から始まった来店につなげられません。一人ひとりが別の来店として記録されます。「床の位置合わせ…」で店内図に配置してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="369"/>
        <source>People seen here are added to the visit that began at the entrance, by where and when they walk on the floor plan.</source>
        <translation>ここに映った人は、店内図上で歩いた場所と時刻から、入口で始まった来店に加えられます。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="382"/>
        <source>Connecting…</source>
        <translation>接続中…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="402"/>
        <source>Connected: %1×%2, %3 face(s) and %4 person(s) masked.</source>
        <translation>接続しました: %1×%2、顔 %3 件と人物 %4 人をマスクしました。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="418"/>
        <source>A zone needs at least three corners.</source>
        <translation>ゾーンには 3 つ以上の角が必要です。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="425"/>
        <source>Give the zone a name, e.g. “Drinks”.</source>
        <translation>エリアに名前を付けてください（例:「飲料」）。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="436"/>
        <source>A counting line is two clicks: its start and its end.</source>
        <translation>計数線は始点と終点の2回のクリックで描きます。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="442"/>
        <source>Give the line a name, e.g. “Door”.</source>
        <translation>線に名前を付けてください（例:「入口」）。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="447"/>
        <source>This line cannot be used: %1</source>
        <translation>この線は使えません: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="459"/>
        <source>Analysis zones: %1</source>
        <translation>分析エリア: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="459"/>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="467"/>
        <source>, </source>
        <translation>、</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="462"/>
        <source>No analysis zones yet: draw shelves, the checkout or the entrance to measure time spent there.</source>
        <translation>分析エリアはまだありません。棚・レジ・入口を描くと、そこでの滞在時間を計測します。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="468"/>
        <source>Counting lines: %1</source>
        <translation>計数線: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="470"/>
        <source>Floor calibration: %1 points</source>
        <translation>床の位置合わせ: %1点</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="484"/>
        <source>No picture from this camera: %1</source>
        <translation>このカメラから映像を取得できません: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="487"/>
        <source>Details are in the log file %1.</source>
        <translation>詳しい記録はログファイル %1 にあります。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="498"/>
        <source>Save a camera that did not connect?</source>
        <translation>接続できなかったカメラを保存しますか？</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_dialog.py" line="500"/>
        <source>This camera gave no picture when it was tested. Save it anyway? Raiten keeps trying to connect and shows why on its tile.</source>
        <translation>このカメラは接続テストで映像が得られませんでした。それでも保存しますか？ 保存すると Raiten は接続を試み続け、つながらない理由をカメラの枠に表示します。</translation>
    </message>
</context>
<context>
    <name>CameraGrid</name>
    <message>
        <location filename="../../desktopapp/ui/camera_grid.py" line="28"/>
        <source>No cameras are configured yet. Add one with Cameras → Add camera.

Raiten shows every person masked, keeps only face feature data for the period you set, and never stores a picture.</source>
        <translation>カメラはまだ登録されていません。「カメラ」→「カメラを追加」から登録してください。

Raiten は映っている人をすべてマスクして表示し、顔の特徴量データだけを設定した期間保存します。画像は一切保存しません。</translation>
    </message>
</context>
<context>
    <name>CameraTile</name>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="263"/>
        <source>Not analysing</source>
        <translation>解析停止中</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="269"/>
        <source>Connecting…</source>
        <translation>接続中…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="274"/>
        <source>Reconnecting…</source>
        <translation>再接続中…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="193"/>
        <source>%1: in %2, out %3</source>
        <translation>%1: 入 %2、出 %3</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="123"/>
        <source>Open the log folder</source>
        <translation>ログのフォルダーを開く</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="200"/>
        <source>%1: %2 people (%3)</source>
        <translation>%1: %2人（%3）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="210"/>
        <source>quiet</source>
        <translation>空いている</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="211"/>
        <source>busy</source>
        <translation>やや混雑</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="212"/>
        <source>crowded</source>
        <translation>混雑</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="213"/>
        <source>full</source>
        <translation>満員</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="265"/>
        <source>Analysis failed</source>
        <translation>解析に失敗しました</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="279"/>
        <source>%1 Last picture %2 s ago.</source>
        <translation>%1 最後の映像は %2 秒前です。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="284"/>
        <source>Cannot read this camera: %1</source>
        <translation>このカメラを読み込めません: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="286"/>
        <source>Video ended</source>
        <translation>動画が終了しました</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="294"/>
        <source>%1 fps · faces: %2 · people: %3</source>
        <translation>%1 fps · 顔: %2 · 人: %3</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="300"/>
        <source>%1 fps · faces: %2</source>
        <translation>%1 fps · 顔: %2</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="340"/>
        <source>The picture cannot be analysed, so it is not shown (people could not be masked). Details are in the log.</source>
        <translation>映像を解析できないため表示していません（人物をマスクできないため）。詳細はログにあります。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/camera_tile.py" line="346"/>
        <source>Waiting for picture…</source>
        <translation>映像を待っています…</translation>
    </message>
</context>
<context>
    <name>ChainDialog</name>
    <message>
        <location filename="../../desktopapp/ui/chain_dialog.py" line="40"/>
        <source>Chain of stores</source>
        <translation>店舗チェーン</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_dialog.py" line="44"/>
        <source>The stores of one operator can share one gallery, so that a customer of one store is recognised at the others. Each store keeps working when the network is down. To join, use the enrolment file made for your company.</source>
        <translation>同じ事業者の店舗どうしで照合用の特徴量（ギャラリー）を共有し、ある店舗のお客様を他の店舗でも再来店として認識できます。ネットワークが切れても各店舗は動作を続けます。参加するには、貴社用に作成された登録ファイルを使います。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_dialog.py" line="56"/>
        <source>Browse…</source>
        <translation>参照…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_dialog.py" line="63"/>
        <source>e.g. Shibuya</source>
        <translation>例: 渋谷店</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_dialog.py" line="64"/>
        <source>Join the chain</source>
        <translation>チェーンに参加</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_dialog.py" line="70"/>
        <source>Enrolment file:</source>
        <translation>登録ファイル:</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_dialog.py" line="71"/>
        <source>This store&apos;s name:</source>
        <translation>この店舗の名前:</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_dialog.py" line="73"/>
        <location filename="../../desktopapp/ui/chain_dialog.py" line="130"/>
        <source>Leave the chain</source>
        <translation>チェーンから離脱</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_dialog.py" line="99"/>
        <source>This PC is a store on its own.</source>
        <translation>この PC は単独の店舗です。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_dialog.py" line="102"/>
        <source>This PC is the store %1 of %2 (server %3).</source>
        <translation>この PC は %2 の店舗 %1 です（サーバー %3）。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_dialog.py" line="109"/>
        <source>Enrolment file</source>
        <translation>登録ファイル</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_dialog.py" line="116"/>
        <source>Choose the enrolment file and name this store.</source>
        <translation>登録ファイルを選び、この店舗の名前を入力してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_dialog.py" line="132"/>
        <source>This PC stops sharing with the other stores. Everything recorded here stays here. To join again, the store needs a new name. Leave the chain?</source>
        <translation>この PC は他の店舗との共有をやめます。ここで記録したデータはこの PC に残ります。再び参加するには別の店舗名が必要です。チェーンから離脱しますか?</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_dialog.py" line="157"/>
        <source>The chain&apos;s server cannot be reached. Check the network and try again.</source>
        <translation>チェーンのサーバーに接続できません。ネットワークを確認して、もう一度お試しください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_dialog.py" line="160"/>
        <source>The chain&apos;s server refused the password in the enrolment file. Ask for a new enrolment file.</source>
        <translation>チェーンのサーバーが登録ファイルのパスワードを拒否しました。新しい登録ファイルを依頼してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_dialog.py" line="164"/>
        <source>This file cannot be used to join: it is damaged, of another version, or made for another operator.</source>
        <translation>このファイルでは参加できません。ファイルが壊れているか、別のバージョンか、別の事業者用です。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_dialog.py" line="168"/>
        <source>This PC, or a store with this name, has joined the chain already.</source>
        <translation>この PC、または同じ名前の店舗は、すでにチェーンに参加しています。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_dialog.py" line="170"/>
        <source>This PC is not a store of a chain.</source>
        <translation>この PC はチェーンの店舗ではありません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_dialog.py" line="174"/>
        <source>The chain&apos;s server refused: %1</source>
        <translation>チェーンのサーバーが拒否しました: %1</translation>
    </message>
</context>
<context>
    <name>ChainStatusButton</name>
    <message>
        <location filename="../../desktopapp/ui/chain_status.py" line="76"/>
        <source>Chain: syncing…</source>
        <translation>チェーン: 同期中…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_status.py" line="111"/>
        <source>Chain: offline since %1</source>
        <translation>チェーン: %1 からオフライン</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_status.py" line="115"/>
        <source>Chain: synced just now</source>
        <translation>チェーン: たった今同期済み</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_status.py" line="117"/>
        <source>Chain: synced %1 min ago</source>
        <translation>チェーン: %1 分前に同期済み</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_status.py" line="120"/>
        <source>Chain: not synced yet</source>
        <translation>チェーン: まだ同期していません</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_status.py" line="122"/>
        <source>%1 changes waiting</source>
        <translation>未送信の変更 %1 件</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/chain_status.py" line="125"/>
        <source>Store %1 of %2 (server %3). Click to sync now.</source>
        <translation>%2 の店舗 %1（サーバー %3）。クリックすると今すぐ同期します。</translation>
    </message>
</context>
<context>
    <name>DashboardPanel</name>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="486"/>
        <source>All stores</source>
        <translation>全店舗</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="182"/>
        <source>Floor plan…</source>
        <translation>店内図…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="184"/>
        <source>From</source>
        <translation>期間</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="186"/>
        <source>to</source>
        <translation>〜</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="200"/>
        <source>In the store now</source>
        <translation>現在の店内人数</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="201"/>
        <source>Visits today</source>
        <translation>本日の来店</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="202"/>
        <source>Visits in the period</source>
        <translation>期間中の来店</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="203"/>
        <source>Repeat rate</source>
        <translation>再来店率</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="204"/>
        <source>Visits with a purchase</source>
        <translation>購買のあった来店</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="213"/>
        <source>Visits by visit number</source>
        <translation>来店回数別の来店</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="215"/>
        <source>Age band and gender (blue: female, orange: male)</source>
        <translation>年代・性別（青: 女性、橙: 男性）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="217"/>
        <source>Time in the store (minutes)</source>
        <translation>滞在時間（分）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="218"/>
        <source>Spend by age band (blue: female, orange: male)</source>
        <translation>年代別の購買額（青: 女性、橙: 男性）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="222"/>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="231"/>
        <source>Camera</source>
        <translation>カメラ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="223"/>
        <source>Zone</source>
        <translation>エリア</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="224"/>
        <source>Visits that entered</source>
        <translation>立ち寄った来店数</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="225"/>
        <source>Mean minutes there</source>
        <translation>平均滞在（分）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="220"/>
        <source>Time in zones</source>
        <translation>エリアごとの滞在</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="245"/>
        <source>Counts below %1 are shown as “&lt;%1” so that no one can be singled out, and counts that would give one away by subtraction are hidden as “—”. Staff and people who opted out are never counted.</source>
        <translation>個人が特定されないよう、%1件未満の件数は「&lt;%1」と表示し、合計からの引き算で少数の件数がわかってしまう件数は「—」で隠しています。従業員と利用停止を申し出た方は数えません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="592"/>
        <source>Hidden (&lt;%1 or to protect one): %2</source>
        <translation>非表示（%1件未満、またはその保護のため）: %2</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="234"/>
        <source>Where visitors went</source>
        <translation>来店者の動き（ヒートマップ）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="175"/>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="483"/>
        <source>This store</source>
        <translation>この店舗</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="177"/>
        <source>Whose figures: this store, another store of the chain, or all stores</source>
        <translation>表示する店舗: この店舗、チェーンの他の店舗、または全店舗</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="210"/>
        <source>Visits (blue), new (orange), repeat (green), identity unknown (grey, dashed)</source>
        <translation>来店数（青）、新規（橙）、再来店（緑）、本人不明（灰色の破線）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="230"/>
        <source>People counted at lines</source>
        <translation>計数線の通過人数</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="231"/>
        <source>Line</source>
        <translation>計数線</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="231"/>
        <source>In</source>
        <translation>入</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="231"/>
        <source>Out</source>
        <translation>出</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="305"/>
        <source>likely between %1 and %2</source>
        <translation>推定範囲 %1〜%2</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="310"/>
        <source>expected false repeats: %1 (%2 visitors held)</source>
        <translation>誤照合による再来店の見込み: %1件（登録 %2 人）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="316"/>
        <source>too few visits</source>
        <translation>来店が少なすぎます</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="320"/>
        <source>rate over identified visits; identity unknown: %1 visits</source>
        <translation>本人確認できた来店に対する率。本人不明の来店: %1件</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="326"/>
        <source>rate over identified visits; identity unknown: %1 of all visits</source>
        <translation>本人確認できた来店に対する率。本人不明の来店: 全来店の%1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="340"/>
        <source>This store only</source>
        <translation>この店舗のみ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="369"/>
        <source>Hidden (&lt;%1 or to protect one): %2 of %3 points, left as gaps in the lines</source>
        <translation>非表示（%1件未満、またはその保護のため）: %3 点中 %2 点（線を切っています）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="417"/>
        <source>%1: camera %2</source>
        <translation>%1: カメラ %2</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="429"/>
        <source>People counted</source>
        <translation>計数した人数</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="439"/>
        <source>Time in zones is shown for “This store” only: each store draws zones on its own cameras.</source>
        <translation>エリアの滞在は「この店舗」でのみ表示します（エリアは店舗ごとに描きます）。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="447"/>
        <source>No zone drawn yet: open a camera (Cameras → Edit camera) and draw the shelves, the checkout or the entrance on its picture.</source>
        <translation>エリアがまだ描かれていません。カメラを開き（「カメラ」→「カメラを編集」）、映像の上に棚・レジ・入口を描いてください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="455"/>
        <source>No counting line drawn yet: open a camera (Cameras → Edit camera) and draw a line across the door or an aisle.</source>
        <translation>計数線がまだ描かれていません。カメラを開き（「カメラ」→「カメラを編集」）、入口や通路を横切る線を描いてください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="459"/>
        <source>No people counted at lines in this period.</source>
        <translation>この期間に計数線を通過した人はいません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="467"/>
        <source>Shown for “This store” only: each store has its own floor plan.</source>
        <translation>「この店舗」でのみ表示します（店内図は店舗ごとに異なります）。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="474"/>
        <source>No camera is placed on the floor plan yet: open a camera and use Floor calibration… to see where visitors go.</source>
        <translation>店内図に位置合わせしたカメラがまだありません。カメラを開いて「床の位置合わせ…」を行うと、来店者の動きが表示されます。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="510"/>
        <source>not yet</source>
        <translation>未同期</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="514"/>
        <source>Other stores&apos; figures are as of the last sync (%1). A repeat visit is a visit by someone a store of the chain had seen before. Sales, time in zones, the floor heat map and who is in the store now stay with each store: choose “This store” to see them.</source>
        <translation>他の店舗の数値は最後の同期（%1）時点のものです。再来店は、チェーンのいずれかの店舗が以前に見かけた人の来店です。売上、エリアの滞在、店内図のヒートマップ、現在の店内人数は各店舗にだけあります。見るには「この店舗」を選んでください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="526"/>
        <source>No visits recorded in this period as of the last sync.</source>
        <translation>最後の同期の時点で、この期間の来店記録はありません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="529"/>
        <source>Nothing recorded in this period yet: visits appear here once a camera runs with a complete notice.</source>
        <translation>この期間の記録はまだありません。告知内容がそろった状態でカメラが動くと、ここに来店が表示されます。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="536"/>
        <source>Fewer than %1 visits in this period: the figures are hidden so that no one can be singled out.</source>
        <translation>この期間の来店は%1件未満です。個人が特定されないよう、数値を表示していません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="545"/>
        <source>Sales are shown for “This store” only.</source>
        <translation>売上は「この店舗」でのみ表示します。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="552"/>
        <source>Sales were imported, but none is linked to a visit: say which camera watches each register (File → Import POS CSV…, Registers).</source>
        <translation>売上データは取り込まれていますが、来店と結び付いた購買がありません。どのカメラがどのレジを映しているかを設定してください（「ファイル」→「POSデータの取り込み」→ レジ）。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="558"/>
        <source>No sales imported for this period (File → Import POS CSV…).</source>
        <translation>この期間の売上データは取り込まれていません（「ファイル」→「POSデータの取り込み」）。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="608"/>
        <source>The figures could not be read: %1</source>
        <translation>数値を読み込めません: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="615"/>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="625"/>
        <source>Floor plan</source>
        <translation>店内図</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="615"/>
        <source>Pictures (*.png *.jpg *.jpeg *.bmp)</source>
        <translation>画像 (*.png *.jpg *.jpeg *.bmp)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="627"/>
        <source>How wide is the floor this plan shows, from its left edge to its right, in metres? The depth follows from the picture&apos;s proportions.</source>
        <translation>この平面図が示す床の幅（左端から右端まで）は何メートルですか。奥行きは図の縦横比から求めます。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/analytics_panel.py" line="670"/>
        <source>The floor plan cannot be read: %1</source>
        <translation>店内図を読み込めません: %1</translation>
    </message>
</context>
<context>
    <name>ErrorTexts</name>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="74"/>
        <source>The data was deleted and the deletion is recorded in the audit log, but another Raiten window or program using the data folder kept the file from being cleaned up, so deleted data may still be in it. Close other Raiten windows and programs that use the data folder: Raiten finishes the clean-up at its next hourly run.</source>
        <translation>データは削除され、監査ログにも記録されました。ただし、データフォルダーを使っている別のRaitenのウィンドウやプログラムがあったため、ファイルの後片付けが終わっておらず、削除したデータがファイル内に残っている可能性があります。データフォルダーを使っている他のRaitenのウィンドウやプログラムを閉じてください。次回の定時処理（1時間ごと）でRaitenが後片付けを完了します。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="85"/>
        <source>Enter a USB camera number (0, 1, …), an rtsp:// or http:// address, a video file, or demo.</source>
        <translation>USB カメラの番号（0、1、…）、rtsp:// または http:// のアドレス、動画ファイル、または demo を入力してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="89"/>
        <source>No camera given.</source>
        <translation>カメラが指定されていません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="90"/>
        <source>%1 names no camera.</source>
        <translation>%1 はカメラを指していません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="93"/>
        <source>Raiten cannot read %1:// addresses.</source>
        <translation>Raiten は %1:// のアドレスを読み取れません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="98"/>
        <source>USB camera numbers run from 0 to %1, not %2.</source>
        <translation>USB カメラの番号は 0 から %1 までです（%2 は使えません）。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="101"/>
        <source>%1 is a folder, not a video file.</source>
        <translation>%1 はフォルダーです。動画ファイルではありません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="104"/>
        <source>There is no camera or file called %1.</source>
        <translation>%1 というカメラやファイルはありません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="110"/>
        <source>The video file %1 cannot be opened: it is missing or this account may not read it.</source>
        <translation>動画ファイル %1 を開けません。ファイルがないか、このアカウントには読む権限がありません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="112"/>
        <source>The video file %1 is empty (0 bytes).</source>
        <translation>動画ファイル %1 は空です（0 バイト）。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="116"/>
        <source>%1 is not a video file Raiten can read.</source>
        <translation>%1 は Raiten が読める動画ファイルではありません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="119"/>
        <source>%1 contains no picture Raiten can decode: the file is damaged.</source>
        <translation>%1 には Raiten が読める映像がありません。ファイルが壊れています。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="122"/>
        <source>%1 is damaged or incomplete: it ends after %2 of %3 frames.</source>
        <translation>%1 は壊れているか途中で切れています（全 %3 フレームのうち %2 フレームで終わっています）。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="128"/>
        <source>The demo camera&apos;s picture is missing or damaged: reinstall Raiten.</source>
        <translation>デモカメラの画像が見つからないか壊れています。Raiten を入れ直してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="53"/>
        <source>The notice has no English text yet. Fill in the purpose, the items, the contact and, if they are written in Japanese, the operator and store names in English under Settings → Notice profile.</source>
        <translation>告知内容に英語の文面がまだありません。「設定」→「告知内容」で、利用目的・取得する情報・お問い合わせ先と、日本語で書かれている場合は設置者名・店舗名を英語で入力してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="58"/>
        <source>The notice has no Japanese text yet. Fill in the purpose, the items and the contact in Japanese under Settings → Notice profile.</source>
        <translation>告知内容に日本語の文面がまだありません。「設定」→「告知内容」で、利用目的・取得する情報・お問い合わせ先を日本語で入力してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="131"/>
        <source>Raiten met an error it did not expect while reading this camera. Try Test connection again; if it stays, send the log file %1 to your Raiten supplier.</source>
        <translation>このカメラの読み込み中に想定外のエラーが起きました。もう一度「接続テスト」を押してください。続く場合はログファイル %1 を Raiten の販売店・サポートに送ってください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="135"/>
        <source>No camera at USB number %1: check the cable. Retrying in %2 s.</source>
        <translation>USB 番号 %1 にカメラがありません。ケーブルを確認してください。%2 秒後に再試行します。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="140"/>
        <source>Cannot connect to the camera: check its address, the network, and its user name and password. Retrying in %1 s.</source>
        <translation>カメラに接続できません。アドレス、ネットワーク、ユーザー名とパスワードを確認してください。%1 秒後に再試行します。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="143"/>
        <source>The picture was lost. Reconnecting in %1 s.</source>
        <translation>映像が途切れました。%1 秒後に再接続します。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="147"/>
        <source>The camera answers but sends nothing Raiten can read as a picture. Retrying in %1 s.</source>
        <translation>カメラは応答しますが、映像として読めるデータを送ってきません。%1 秒後に再試行します。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="151"/>
        <source>The picture size changed from %1 to %2: check the privacy and analysis zones.</source>
        <translation>映像の大きさが %1 から %2 に変わりました。プライバシー領域と分析エリアを確認してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="160"/>
        <source>Retrying in %1 s.</source>
        <translation>%1 秒後に再接続します。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="165"/>
        <source>The picture froze. Reconnecting in %1 s.</source>
        <translation>映像が止まりました。%1 秒後に再接続します。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="167"/>
        <source>The picture has not changed for %1 s: the camera may be frozen.</source>
        <translation>映像が %1 秒間まったく変化していません。カメラが止まっている可能性があります。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="176"/>
        <source>No device called %1 was found on the network. Check the address for typing errors; the camera&apos;s IP address (such as 192.168.1.20) is the safest.</source>
        <translation>ネットワーク上に「%1」という機器が見つかりません。アドレスの入力ミスがないか確認してください。カメラの IP アドレス（例: 192.168.1.20）で指定するのが確実です。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="182"/>
        <source>The device at %1 refuses connections on port %2: the camera may be starting up, its streaming may be switched off, or the port is wrong (RTSP usually uses 554, HTTP 80). Check the port in the camera&apos;s settings.</source>
        <translation>%1 の機器がポート %2 への接続を拒否しました。カメラが起動中か、映像配信が無効になっているか、ポート番号が違う可能性があります（通常 RTSP は 554、HTTP は 80）。カメラ本体の設定でポート番号を確認してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="192"/>
        <source>Nothing answers at %1 (port %2). Check that the camera is switched on, connected to the same network as this PC, and that the address is right.</source>
        <translation>%1（ポート %2）から応答がありません。カメラの電源が入っているか、このPCと同じネットワークにつながっているか、アドレスが正しいかを確認してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="201"/>
        <source>The camera refused the user name or password. Enter them exactly as set in the camera&apos;s own settings: rtsp://user:password@address/…</source>
        <translation>カメラがユーザー名またはパスワードを受け付けませんでした。カメラ本体に設定したとおりに入力してください: rtsp://ユーザー名:パスワード@アドレス/…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="205"/>
        <source>The camera asks for a user name and password. Add them to the address: rtsp://user:password@address/…</source>
        <translation>このカメラにはユーザー名とパスワードが必要です。アドレスに含めてください: rtsp://ユーザー名:パスワード@アドレス/…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="211"/>
        <source>The camera at %1 has no video at %2. The stream&apos;s path is in the camera&apos;s manual (for example /stream1 or /live/ch0).</source>
        <translation>%1 のカメラの %2 には映像がありません。映像のパスはカメラの取扱説明書に書かれています（例: /stream1、/live/ch0）。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="220"/>
        <source>%1 answers, but not with video (%2): this may be the camera&apos;s web page or another device. Use the stream address from the camera&apos;s manual.</source>
        <translation>%1 は応答しましたが、映像ではありません（%2）。カメラの設定画面や別の機器のアドレスかもしれません。取扱説明書にある映像配信用のアドレスを使ってください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="230"/>
        <source>The database %1 is damaged.</source>
        <translation>データベース %1 が破損しています。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="232"/>
        <source>The database %1 is in use by another program (another Raiten, a backup or virus scanner?). Close it; Raiten keeps trying.</source>
        <translation>データベース %1 は別のプログラム（別の Raiten、バックアップやウイルス対策ソフトなど）が使用中です。そのプログラムを閉じてください。Raiten は再試行を続けます。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="236"/>
        <source>%1 cannot be written: the file or its folder is read-only. Check the folder&apos;s permissions and the disk.</source>
        <translation>%1 に書き込めません。ファイルかフォルダーが読み取り専用です。フォルダーの権限とディスクを確認してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="239"/>
        <source>The disk holding %1 is full. Free some space.</source>
        <translation>%1 のあるディスクがいっぱいです。空き容量を作ってください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="240"/>
        <source>The disk holding %1 reported an error. Check the disk.</source>
        <translation>%1 のあるディスクでエラーが起きました。ディスクを確認してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="242"/>
        <source>The database %1 was written by a newer Raiten. Update Raiten.</source>
        <translation>データベース %1 は新しいバージョンの Raiten で書かれています。Raiten を更新してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="250"/>
        <source>The key that unlocks this data is kept in the computer&apos;s password store (keyring), which cannot be opened now. Nothing was changed. Sign in at this computer&apos;s desktop (or unlock the keyring) and start Raiten again.</source>
        <translation>このデータを開く鍵はコンピューターのパスワード保管庫（キーリング）に保存されていますが、今は開けません。何も変更していません。このコンピューターのデスクトップにサインインして（またはキーリングのロックを解除して）から、Raiten をもう一度起動してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="255"/>
        <source>The key found does not unlock this data: it was encrypted with another key. Nothing was changed. Put back the key file or keyring entry this data folder was made with, then start Raiten again.</source>
        <translation>見つかった鍵ではこのデータを開けません。データは別の鍵で暗号化されています。何も変更していません。このデータフォルダーを作成したときの鍵ファイルまたはキーリングの項目を元に戻してから、Raiten をもう一度起動してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="260"/>
        <source>The key file that unlocks this data is damaged. Nothing was changed. Put back a good copy of the key file, then start Raiten again.</source>
        <translation>このデータを開く鍵ファイルが壊れています。何も変更していません。正常な鍵ファイルのコピーを戻してから、Raiten をもう一度起動してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="268"/>
        <source>The settings file %1 is damaged and cannot be read; the defaults are used. Saving the settings keeps the damaged file beside the new one.</source>
        <translation>設定ファイル %1 は破損していて読めません。既定の設定を使います。設定を保存すると、破損したファイルは新しいファイルの隣に残します。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="272"/>
        <source>The settings file %1 does not hold settings; the defaults are used.</source>
        <translation>設定ファイル %1 には設定が入っていません。既定の設定を使います。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="275"/>
        <source>The settings file %1 was written by a newer Raiten (version %2); the defaults are used. Update Raiten to use it.</source>
        <translation>設定ファイル %1 は新しい Raiten（バージョン %2）で書かれています。既定の設定を使います。このファイルを使うには Raiten を更新してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="279"/>
        <source>The settings file %1 has an invalid value at %2; the defaults are used.</source>
        <translation>設定ファイル %1 の %2 の値が正しくありません。既定の設定を使います。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="290"/>
        <source>The picture %1 cannot be opened: it is missing or this account may not read it.</source>
        <translation>画像 %1 を開けません。ファイルがないか、このアカウントには読む権限がありません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="292"/>
        <source>The picture %1 is empty (0 bytes).</source>
        <translation>画像 %1 は空です（0 バイト）。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="293"/>
        <source>The picture %1 is too large (%2 MB).</source>
        <translation>画像 %1 は大きすぎます（%2 MB）。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="294"/>
        <source>%1 is not a picture Raiten can read.</source>
        <translation>%1 は Raiten が読める画像ではありません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="296"/>
        <source>The picture %1 has too many pixels to analyse; use a smaller picture.</source>
        <translation>画像 %1 は画素数が多すぎて分析できません。小さい画像を使ってください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="306"/>
        <source>model file %1 is missing. Reinstall Raiten.</source>
        <translation>モデルファイル %1 がありません。Raiten を再インストールしてください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="308"/>
        <source>model file %1 is damaged or was replaced (SHA-256 mismatch). Reinstall Raiten.</source>
        <translation>モデルファイル %1 が破損しているか置き換えられています（SHA-256 不一致）。Raiten を再インストールしてください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="310"/>
        <source>model file %1 cannot be read.</source>
        <translation>モデルファイル %1 を読み込めません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="311"/>
        <source>model file %1 is not a usable model.</source>
        <translation>モデルファイル %1 はモデルとして使用できません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="312"/>
        <source>model %1 is not known.</source>
        <translation>モデル %1 は登録されていません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/error_texts.py" line="313"/>
        <source>model list %1 is missing or damaged.</source>
        <translation>モデル一覧 %1 がないか破損しています。</translation>
    </message>
</context>
<context>
    <name>ExportDialog</name>
    <message>
        <location filename="../../desktopapp/ui/export_dialog.py" line="48"/>
        <location filename="../../desktopapp/ui/export_dialog.py" line="106"/>
        <source>Export</source>
        <translation>エクスポート</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/export_dialog.py" line="53"/>
        <source>Exports hold counts only: no picture, no feature data and no visitor ID. Counts below %1 are written as “&lt;%1”.</source>
        <translation>エクスポートには件数のみが含まれます。画像、特徴量、来店者IDは含まれません。%1未満の件数は「&lt;%1」と書き出されます。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/export_dialog.py" line="62"/>
        <source>Report (PDF)</source>
        <translation>レポート（PDF）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/export_dialog.py" line="63"/>
        <source>Figures (CSV for Excel)</source>
        <translation>集計値（Excel用CSV）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/export_dialog.py" line="64"/>
        <source>Incident report: personal records held (CSV)</source>
        <translation>漏えい等報告用：保有する個人データの件数（CSV）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/export_dialog.py" line="72"/>
        <source>All stores</source>
        <translation>全店舗</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/export_dialog.py" line="78"/>
        <source>What</source>
        <translation>内容</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/export_dialog.py" line="79"/>
        <source>From</source>
        <translation>開始日</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/export_dialog.py" line="80"/>
        <source>To</source>
        <translation>終了日</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/export_dialog.py" line="81"/>
        <source>Store</source>
        <translation>店舗</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/export_dialog.py" line="82"/>
        <source>Language</source>
        <translation>言語</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/export_dialog.py" line="89"/>
        <source>Save…</source>
        <translation>保存…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/export_dialog.py" line="114"/>
        <source>The first day is after the last day: swap them.</source>
        <translation>開始日が終了日より後になっています。入れ替えてください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/export_dialog.py" line="124"/>
        <source>Exporting…</source>
        <translation>書き出しています…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/export_dialog.py" line="136"/>
        <source>Saved: %1</source>
        <translation>保存しました: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/export_dialog.py" line="142"/>
        <source>The export could not be saved: %1</source>
        <translation>エクスポートを保存できません: %1</translation>
    </message>
</context>
<context>
    <name>FirstRunWizard</name>
    <message>
        <location filename="../../desktopapp/ui/first_run.py" line="184"/>
        <source>Raiten — first start</source>
        <translation>Raiten — 初回設定</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/first_run.py" line="192"/>
        <source>Who you are</source>
        <translation>事業者の情報</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/first_run.py" line="194"/>
        <source>Printed on the sign at your entrance, so that people know whom to ask.</source>
        <translation>入口の掲示物に印刷され、問い合わせ先を来店者に知らせます。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/first_run.py" line="197"/>
        <source>What you analyse and for how long</source>
        <translation>利用目的と保存期間</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/first_run.py" line="200"/>
        <source>Feature data is deleted automatically when the period ends; statistics without any personal data are kept.</source>
        <translation>特徴量データは期間が過ぎると自動で削除されます。個人を含まない統計は残ります。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/first_run.py" line="205"/>
        <source>Your sign in a second language (optional)</source>
        <translation>もう一つの言語の掲示（任意）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/first_run.py" line="208"/>
        <source>For customers who read the other language: a sign in that language only, or both languages on one sign. You can add this later in Settings.</source>
        <translation>もう一方の言語を読むお客様のために、その言語だけの掲示、または両方の言語を載せた掲示を作れます。後から「設定」で追加することもできます。</translation>
    </message>
</context>
<context>
    <name>FramingGuide</name>
    <message>
        <location filename="../../desktopapp/ui/framing_guide.py" line="63"/>
        <source>Waiting for the camera&apos;s picture (people are shown masked).</source>
        <translation>カメラの映像を待っています（人はマスクして表示します）。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/framing_guide.py" line="75"/>
        <source>A face is seen: ask the person to stay there and press Capture and search.</source>
        <translation>顔が映っています。その位置のままでいていただき、「撮影して検索」を押してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/framing_guide.py" line="78"/>
        <source>No face seen yet: ask the person to stand close, face the camera and bring their face into the marked area.</source>
        <translation>まだ顔が映っていません。カメラの近くでカメラの方を向き、枠の中に顔が入るように立っていただいてください。</translation>
    </message>
</context>
<context>
    <name>Gui</name>
    <message>
        <location filename="../../desktopapp/ui/app.py" line="146"/>
        <source>The data folder %1 cannot be opened: %2</source>
        <translation>データフォルダー %1 を開けません: %2</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/app.py" line="190"/>
        <source>Restoring a backup or starting empty replaces the database: an administrator must sign in first.</source>
        <translation>バックアップからの復元や空のデータベースでの開始はデータベースを置き換えます。先に管理者がサインインしてください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/app.py" line="204"/>
        <source>Only an administrator may recover the database; %1 is not one.</source>
        <translation>データベースの復旧は管理者だけが行えます。%1 は管理者ではありません。</translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message>
        <location filename="../../desktopapp/ui/login.py" line="45"/>
        <source>Raiten — sign in</source>
        <translation>Raiten — サインイン</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/login.py" line="50"/>
        <source>Raiten</source>
        <translation>Raiten</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/login.py" line="55"/>
        <source>The screen was locked. %1 or another account can unlock it.</source>
        <translation>画面がロックされました。%1 または他のアカウントで解除できます。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/login.py" line="71"/>
        <source>Name</source>
        <translation>名前</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/login.py" line="72"/>
        <source>Password</source>
        <translation>パスワード</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/login.py" line="81"/>
        <source>Sign in</source>
        <translation>サインイン</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/login.py" line="94"/>
        <source>Enter your name and password.</source>
        <translation>名前とパスワードを入力してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/login.py" line="117"/>
        <source>The name or the password is wrong.</source>
        <translation>名前またはパスワードが違います。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/login.py" line="121"/>
        <source>Signing in failed: %1</source>
        <translation>サインインできませんでした: %1</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="323"/>
        <source>Raiten — store camera analytics</source>
        <translation>Raiten — 店舗カメラ分析</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="151"/>
        <source>Settings could not be loaded; using defaults.</source>
        <translation>設定を読み込めませんでした。既定値で動作しています。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="116"/>
        <source>Live view</source>
        <translation>ライブ映像</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="117"/>
        <source>Dashboard</source>
        <translation>ダッシュボード</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="188"/>
        <source>The screen is locked. The cameras keep working.</source>
        <translation>画面はロックされています。カメラの分析は続いています。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="195"/>
        <source>Unlock…</source>
        <translation>ロック解除…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="221"/>
        <source>&amp;File</source>
        <translation>ファイル(&amp;F)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="223"/>
        <source>&amp;Signage…</source>
        <translation>掲示物(&amp;S)…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="226"/>
        <source>&amp;Export…</source>
        <translation>エクスポート(&amp;E)…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="229"/>
        <source>&amp;Import POS CSV…</source>
        <translation>POSデータの取り込み(&amp;I)…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="233"/>
        <source>Change my &amp;password…</source>
        <translation>自分のパスワードを変更(&amp;P)…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="237"/>
        <source>&amp;Lock screen</source>
        <translation>画面をロック(&amp;L)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="241"/>
        <source>&amp;Quit</source>
        <translation>終了(&amp;Q)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="245"/>
        <source>&amp;Cameras</source>
        <translation>カメラ(&amp;C)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="248"/>
        <source>&amp;Add camera…</source>
        <translation>カメラを追加(&amp;A)…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="252"/>
        <source>&amp;Edit camera</source>
        <translation>カメラを編集(&amp;E)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="253"/>
        <source>&amp;Remove camera</source>
        <translation>カメラを削除(&amp;R)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="254"/>
        <source>&amp;Layout</source>
        <translation>レイアウト(&amp;L)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="263"/>
        <source>&amp;Administration</source>
        <translation>管理(&amp;A)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="266"/>
        <source>&amp;Settings…</source>
        <translation>設定(&amp;S)…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="269"/>
        <source>&amp;Chain of stores…</source>
        <translation>店舗チェーン(&amp;C)…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="273"/>
        <source>&amp;Requests from the public…</source>
        <translation>本人からの請求対応(&amp;R)…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="279"/>
        <source>S&amp;taff…</source>
        <translation>従業員(&amp;T)…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="282"/>
        <source>&amp;Audit log…</source>
        <translation>監査ログ(&amp;A)…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="287"/>
        <source>&amp;Delete all personal data…</source>
        <translation>個人データをすべて削除(&amp;D)…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="293"/>
        <source>&amp;Help</source>
        <translation>ヘルプ(&amp;H)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="295"/>
        <source>&amp;User guide</source>
        <translation>使い方ガイド(&amp;U)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="298"/>
        <source>&amp;Models and licences…</source>
        <translation>モデルとライセンス(&amp;M)…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="301"/>
        <source>&amp;Check this PC&apos;s capacity…</source>
        <translation>この PC の処理能力を調べる(&amp;C)…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="303"/>
        <source>&amp;About Raiten</source>
        <translation>Raiten について(&amp;A)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="325"/>
        <source>Raiten — DEMO (sample data, not a real store)</source>
        <translation>Raiten — デモ（サンプルデータ、実店舗ではありません）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="328"/>
        <source>DEMO — the dashboard shows sample figures</source>
        <translation>デモ — ダッシュボードはサンプルの数値です</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="338"/>
        <source>Your account may not do this.</source>
        <translation>このアカウントではこの操作はできません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="377"/>
        <source>The models could not be checked: %1</source>
        <translation>モデルを確認できませんでした: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="398"/>
        <source>Expired data could not be deleted yet; Raiten will try again: %1</source>
        <translation>期限切れのデータをまだ削除できません。Raiten が再試行します: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="404"/>
        <source>The data folder cannot be opened: %1</source>
        <translation>データフォルダを開けません: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="446"/>
        <source>Demo camera</source>
        <translation>デモカメラ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="464"/>
        <source>Entrance</source>
        <translation>入口</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="494"/>
        <source>%1 (entrance)</source>
        <translation>%1（入口）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="611"/>
        <source>Closing Raiten stops the analysis of every camera. A manager or an administrator must sign in to stop it; cancel to keep Raiten running.</source>
        <translation>Raiten を閉じると、すべてのカメラの分析が止まります。止めるにはマネージャーか管理者のサインインが必要です。Raiten を動かし続ける場合はキャンセルしてください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="621"/>
        <source>Raiten keeps running</source>
        <translation>Raiten は動作を続けます</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="623"/>
        <source>%1 may not stop the analysis: a manager or an administrator must.</source>
        <translation>%1 は分析を止められません。マネージャーか管理者が行ってください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="626"/>
        <source>Raiten keeps analysing.</source>
        <translation>Raiten は分析を続けています。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="637"/>
        <source>Your password was changed.</source>
        <translation>パスワードを変更しました。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="693"/>
        <source>Signage</source>
        <translation>掲示物</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="447"/>
        <source>DEMO</source>
        <translation>デモ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="535"/>
        <source>Remove camera</source>
        <translation>カメラの削除</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="536"/>
        <source>Remove the camera &quot;%1&quot;?</source>
        <translation>カメラ「%1」を削除しますか？</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="583"/>
        <source>This camera cannot start: %1</source>
        <translation>このカメラを開始できません: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="663"/>
        <source>About Raiten</source>
        <translation>Raiten について</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/main_window.py" line="665"/>
        <source>Raiten %1

Camera analytics for stores, following METI/MIC&apos;s Guidebook for Utilization of Camera Images. Pictures are analysed in memory and never stored.</source>
        <translation>Raiten %1

経済産業省・総務省「カメラ画像利活用ガイドブック」に沿った店舗向けカメラ分析。画像はメモリ上で解析し、保存しません。</translation>
    </message>
</context>
<context>
    <name>ModelStatusPanel</name>
    <message>
        <location filename="../../desktopapp/ui/model_status.py" line="23"/>
        <source>Detection</source>
        <translation>顔検出</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/model_status.py" line="24"/>
        <source>Features</source>
        <translation>特徴量</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/model_status.py" line="25"/>
        <source>Age/gender</source>
        <translation>年代・性別</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/model_status.py" line="26"/>
        <source>Persons</source>
        <translation>人物検出</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/model_status.py" line="42"/>
        <source>Checking models…</source>
        <translation>モデルを確認中…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/model_status.py" line="51"/>
        <source>non-commercial use only</source>
        <translation>非商用利用のみ</translation>
    </message>
</context>
<context>
    <name>ModelsDialog</name>
    <message>
        <location filename="../../desktopapp/ui/models_dialog.py" line="28"/>
        <source>Models and licences</source>
        <translation>モデルとライセンス</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/models_dialog.py" line="32"/>
        <source>Raiten recognises faces and people with the programs below, called models. They run on this PC only and send nothing anywhere. A shop may use a model only if its licence allows business use.</source>
        <translation>Raiten は下の「モデル」と呼ばれるプログラムで顔や人を認識します。モデルはこのPCの中だけで動き、外部には何も送りません。店舗で使えるのは、ライセンスが業務での利用を認めているモデルだけです。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/models_dialog.py" line="44"/>
        <source>What it does</source>
        <translation>役割</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/models_dialog.py" line="45"/>
        <source>Model</source>
        <translation>モデル</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/models_dialog.py" line="46"/>
        <source>Use in a shop</source>
        <translation>店舗での利用</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/models_dialog.py" line="47"/>
        <source>Licence</source>
        <translation>ライセンス</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/models_dialog.py" line="57"/>
        <source>Allowed</source>
        <translation>利用できます</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/models_dialog.py" line="60"/>
        <source>Not allowed: non-commercial use only. Buy a licence from its maker or choose another model.</source>
        <translation>利用できません: 非商用に限られています。開発元からライセンスを購入するか、別のモデルを選んでください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/models_dialog.py" line="65"/>
        <source>Source: %1</source>
        <translation>入手元: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/models_dialog.py" line="87"/>
        <source>Finds faces, so that they are masked</source>
        <translation>顔を見つけてマスクする</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/models_dialog.py" line="88"/>
        <source>Turns a face into feature data to recognise returns</source>
        <translation>顔を特徴量データにして再来店を判定する</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/models_dialog.py" line="89"/>
        <source>Estimates age band and gender</source>
        <translation>年代と性別を推定する</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/models_dialog.py" line="90"/>
        <source>Finds people, to mask and count them</source>
        <translation>人を見つけてマスクし、人数を数える</translation>
    </message>
</context>
<context>
    <name>NoticeForm</name>
    <message>
        <location filename="../../desktopapp/ui/notice_form.py" line="52"/>
        <source>e.g. Customer desk, 03-1234-5678 or info@example.jp</source>
        <translation>例: お客様窓口 03-1234-5678、または info@example.jp</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_form.py" line="54"/>
        <source>https://… (leave empty if the shop has no website)</source>
        <translation>https://…（店舗にウェブサイトがなければ空欄）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_form.py" line="74"/>
        <location filename="../../desktopapp/ui/notice_form.py" line="114"/>
        <source>One item per line</source>
        <translation>1行に1項目</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_form.py" line="77"/>
        <source>Suggest texts for this mode</source>
        <translation>この用途の文例を入れる</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_form.py" line="82"/>
        <source>%1 days</source>
        <translation>%1日</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_form.py" line="83"/>
        <source>Other…</source>
        <translation>その他…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_form.py" line="86"/>
        <source> days</source>
        <translation> 日</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_form.py" line="90"/>
        <source>from the first visit</source>
        <translation>初回来店日から</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_form.py" line="91"/>
        <source>from the last visit</source>
        <translation>最終来店日から</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_form.py" line="121"/>
        <source>Suggest texts in this language</source>
        <translation>この言語の文面を提案</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_form.py" line="139"/>
        <source>Use case</source>
        <translation>利用用途</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_form.py" line="140"/>
        <source>Period counted</source>
        <translation>期間の起算日</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_form.py" line="141"/>
        <source>Sign language</source>
        <translation>掲示物の言語</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_form.py" line="231"/>
        <source>The notice in English</source>
        <translation>英語の告知内容</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_form.py" line="231"/>
        <source>The notice in Japanese</source>
        <translation>日本語の告知内容</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_form.py" line="235"/>
        <source>Fill this in to print an English or a bilingual sign. Names written in Japanese need their English spelling; names left empty are printed as in the main notice.</source>
        <translation>英語の掲示や日英併記の掲示を印刷するときに入力します。日本語で書いた名前には英語表記が必要です。空欄の名前は最初に入力した告知内容の表記で印刷します。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_form.py" line="241"/>
        <source>Fill this in to print a Japanese or a bilingual sign; names left empty are printed as in the main notice.</source>
        <translation>日本語の掲示や日英併記の掲示を印刷するときに入力します。空欄の名前は最初に入力した告知内容の表記で印刷します。</translation>
    </message>
</context>
<context>
    <name>NoticeTexts</name>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="14"/>
        <source>Attributes (age band and gender, no identity kept)</source>
        <translation>属性推定（年代・性別、個人の識別なし）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="15"/>
        <source>Activity (movement in the store)</source>
        <translation>行動分析（店内の動線）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="16"/>
        <source>Repeat analysis (recognises returning visitors)</source>
        <translation>リピート分析（再来店の判定）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="17"/>
        <source>Passer-by counting (outside, by shape only)</source>
        <translation>通行量計測（屋外、人の形のみ）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="18"/>
        <source>Incidental capture (people made unrecognisable)</source>
        <translation>写り込み（人物を判別不能に加工）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="19"/>
        <source>Crowd level (icons and counts only)</source>
        <translation>混雑状況（アイコンと人数のみ）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="24"/>
        <source>operator (company) name</source>
        <translation>事業者名</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="25"/>
        <source>store name</source>
        <translation>店舗名</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="26"/>
        <source>purpose of use</source>
        <translation>利用目的</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="27"/>
        <source>items acquired</source>
        <translation>取得する項目</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="28"/>
        <source>contact point</source>
        <translation>問い合わせ先</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="29"/>
        <source>privacy policy URL</source>
        <translation>プライバシーポリシーの URL</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="30"/>
        <source>feedback URL</source>
        <translation>ご意見受付の URL</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="31"/>
        <source>retention period</source>
        <translation>保存期間</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="36"/>
        <source>%1 is not filled in</source>
        <translation>%1が未入力です</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="37"/>
        <source>%1 must be a web address (https://…)</source>
        <translation>%1はウェブアドレス（https://…）にしてください</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="38"/>
        <source>%1 must say that face feature data is matched</source>
        <translation>%1に顔の特徴量を照合することを明記してください</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="43"/>
        <source>; </source>
        <translation>、</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="44"/>
        <source>Analysis is blocked until the notice profile is complete: %1</source>
        <translation>告知内容が揃うまで解析は開始できません: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/notice_texts.py" line="53"/>
        <source>Analysis is blocked: %1 opt-out(s) and %2 staff member(s) were registered with the face features model %3, but %4 is in use, so they would not be recognised and would be recorded. Switch the face features model back to %3 in Settings, or remove them in Staff / Requests and register them again.</source>
        <translation>分析を停止しています: %1 件のオプトアウト(記録しないでほしいという申し出)と %2 人の従業員が顔特徴量モデル %3 で登録されていますが、現在使用中のモデルは %4 です。このままではこれらの方を認識できず、記録してしまいます。設定で顔特徴量モデルを %3 に戻すか、「従業員」または「本人からの請求対応」で削除してから登録し直してください。</translation>
    </message>
</context>
<context>
    <name>OwnPasswordDialog</name>
    <message>
        <location filename="../../desktopapp/ui/own_password.py" line="34"/>
        <source>Change my password</source>
        <translation>自分のパスワードを変更</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/own_password.py" line="37"/>
        <source>Account: %1</source>
        <translation>アカウント: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/own_password.py" line="42"/>
        <source>Current password</source>
        <translation>現在のパスワード</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/own_password.py" line="43"/>
        <source>New password</source>
        <translation>新しいパスワード</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/own_password.py" line="44"/>
        <source>New password again</source>
        <translation>新しいパスワード（確認）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/own_password.py" line="55"/>
        <source>Change password</source>
        <translation>パスワードを変更</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/own_password.py" line="67"/>
        <source>The two new passwords differ.</source>
        <translation>2つの新しいパスワードが一致しません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/own_password.py" line="69"/>
        <source>Enter your current password.</source>
        <translation>現在のパスワードを入力してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/own_password.py" line="91"/>
        <source>The current password is wrong.</source>
        <translation>現在のパスワードが違います。</translation>
    </message>
</context>
<context>
    <name>PaintMeter</name>
    <message>
        <location filename="../../desktopapp/ui/bench_dialog.py" line="61"/>
        <source>Test camera %1</source>
        <translation>テスト用カメラ %1</translation>
    </message>
</context>
<context>
    <name>PasswordDialog</name>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="327"/>
        <source>Password for %1</source>
        <translation>%1 のパスワード</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="334"/>
        <source>Password</source>
        <translation>パスワード</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="335"/>
        <source>Password again</source>
        <translation>パスワード（確認）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="354"/>
        <source>The two passwords differ.</source>
        <translation>2つのパスワードが一致しません。</translation>
    </message>
</context>
<context>
    <name>PosImportDialog</name>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="61"/>
        <source>Import POS CSV</source>
        <translation>POSデータ（CSV）の取り込み</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="66"/>
        <source>Only the time, register, amount and category of each purchase are imported. Columns that could identify a customer (member or card numbers, names, phone numbers, e-mail or postal addresses, birthdays) are dropped before anything is stored.</source>
        <translation>取り込むのは各購買の日時・レジ・金額・部門だけです。お客様を特定できる列（会員番号・カード番号・氏名・電話番号・メールアドレス・住所・生年月日）は保存前に除外します。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="76"/>
        <source>No file chosen</source>
        <translation>ファイルが選ばれていません</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="77"/>
        <source>Choose file…</source>
        <translation>ファイルを選ぶ…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="87"/>
        <source>Date (when separate from the time)</source>
        <translation>日付（時刻と別の列の場合）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="88"/>
        <source>Time</source>
        <translation>日時</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="89"/>
        <source>Amount</source>
        <translation>金額</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="90"/>
        <source>Register</source>
        <translation>レジ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="91"/>
        <source>Category</source>
        <translation>部門</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="99"/>
        <source>Store</source>
        <translation>店舗</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="103"/>
        <source> min</source>
        <translation> 分</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="104"/>
        <source>Link to a visit seen at the register within</source>
        <translation>レジで確認された来店と結び付ける時間幅</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="105"/>
        <source>Registers and cameras…</source>
        <translation>レジとカメラ…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="124"/>
        <source>Import</source>
        <translation>取り込む</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="139"/>
        <source>POS export</source>
        <translation>POSデータ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="139"/>
        <source>CSV files (*.csv *.txt *.tsv)</source>
        <translation>CSVファイル (*.csv *.txt *.tsv)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="149"/>
        <source>Reading…</source>
        <translation>読み込んでいます…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="158"/>
        <source>(none)</source>
        <translation>（なし）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="168"/>
        <source>These columns will be dropped and never stored: %1</source>
        <translation>次の列は除外され、保存されません: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="170"/>
        <source>; </source>
        <translation>、</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="185"/>
        <source>%1 rows, %2, separated by %3.</source>
        <translation>%1行、文字コード %2、区切り文字 %3。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="208"/>
        <source>Choose a file and a store first.</source>
        <translation>先にファイルと店舗を選んでください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="213"/>
        <source>Importing…</source>
        <translation>取り込んでいます…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="224"/>
        <source>%1 purchases imported, %2 linked to a visit.</source>
        <translation>購買%1件を取り込み、%2件を来店と結び付けました。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="230"/>
        <source>Line %1 skipped: %2</source>
        <translation>%1行目を飛ばしました: %2</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="236"/>
        <source>… and %1 more skipped lines.</source>
        <translation>…ほか%1行を飛ばしました。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_dialog.py" line="248"/>
        <source>The file cannot be imported: %1</source>
        <translation>ファイルを取り込めません: %1</translation>
    </message>
</context>
<context>
    <name>PosTexts</name>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="13"/>
        <source>member or customer number</source>
        <translation>会員番号・顧客番号</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="14"/>
        <source>card number</source>
        <translation>カード番号</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="15"/>
        <source>person&apos;s name</source>
        <translation>氏名</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="16"/>
        <source>phone number</source>
        <translation>電話番号</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="17"/>
        <source>e-mail address</source>
        <translation>メールアドレス</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="18"/>
        <source>address</source>
        <translation>住所</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="19"/>
        <source>birthday</source>
        <translation>生年月日</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="20"/>
        <source>not needed</source>
        <translation>不要な列</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="25"/>
        <source>the row has %1 fields where the header has %2</source>
        <translation>見出しは%2列ですが、この行は%1列です</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="28"/>
        <source>the time of sale is empty</source>
        <translation>販売日時が空です</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="29"/>
        <source>the time of sale cannot be read</source>
        <translation>販売日時を読み取れません</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="30"/>
        <source>the date is empty</source>
        <translation>日付が空です</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="31"/>
        <source>the date cannot be read</source>
        <translation>日付を読み取れません</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="32"/>
        <source>the amount is empty</source>
        <translation>金額が空です</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="33"/>
        <source>the amount is not a number</source>
        <translation>金額が数値ではありません</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="42"/>
        <source>The file %1 cannot be read (%2).</source>
        <translation>ファイル %1 を読み込めません（%2）。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="45"/>
        <source>The file starts like %1 text but is not valid %1.</source>
        <translation>このファイルは %1 のテキストのように始まっていますが、正しい %1 ではありません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="49"/>
        <source>The file is not text in UTF-8 or Shift_JIS (cp932), the encodings POS exports use.</source>
        <translation>このファイルは、POSの出力で使われる UTF-8 または Shift_JIS（cp932）のテキストではありません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="51"/>
        <source>The file holds binary data, not CSV text.</source>
        <translation>このファイルはCSVテキストではなくバイナリデータです。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="52"/>
        <source>Line %1 cannot be read as CSV.</source>
        <translation>%1行目をCSVとして読み取れません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="55"/>
        <source>The file is empty.</source>
        <translation>ファイルが空です。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="57"/>
        <source>Only one column was found: the file needs at least a time and an amount column, separated by commas, tabs or semicolons.</source>
        <translation>列が1つしか見つかりません。カンマ・タブ・セミコロンで区切られた、少なくとも日時と金額の列が必要です。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="61"/>
        <source>The first line holds data, not column names: the file needs a header row.</source>
        <translation>1行目が列名ではなくデータです。見出し行が必要です。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="63"/>
        <source>The file has column names but no sales.</source>
        <translation>列名はありますが、売上の行がありません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="64"/>
        <source>Choose the columns with the time of sale and the amount.</source>
        <translation>販売日時と金額の列を選んでください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="65"/>
        <source>Each column can be used for one thing only.</source>
        <translation>1つの列は1つの用途にしか使えません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="66"/>
        <source>The file has no column named “%1”.</source>
        <translation>「%1」という列はありません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="70"/>
        <source>The column “%1” holds a %2 and is never imported.</source>
        <translation>列「%1」には%2が含まれているため、取り込みません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="75"/>
        <source>No column with the time of sale was found (headers such as 日時, 取引日時, datetime, or 日付 and 時刻).</source>
        <translation>販売日時の列が見つかりません（見出しの例: 日時、取引日時、datetime、または 日付 と 時刻）。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="79"/>
        <source>No column with the amount was found (headers such as 金額, 合計, amount or total).</source>
        <translation>金額の列が見つかりません（見出しの例: 金額、合計、amount、total）。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="81"/>
        <source>A store name is needed to import purchases.</source>
        <translation>購買データを取り込むには店舗名が必要です。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="83"/>
        <source>There is no store named “%1” and no operator yet: save the notice profile before importing purchases.</source>
        <translation>「%1」という店舗も事業者もまだ登録されていません。購買データを取り込む前に告知内容を保存してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/pos_texts.py" line="87"/>
        <source>This file was imported already on %1; importing it again would count every sale twice.</source>
        <translation>このファイルは %1 に取り込み済みです。もう一度取り込むと売上が二重に数えられます。</translation>
    </message>
</context>
<context>
    <name>PublicRequestsDialog</name>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="91"/>
        <source>Requests from the public</source>
        <translation>本人からの請求対応</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="96"/>
        <source>With the person present: capture their face, see what is held about them, then delete it if they ask, and keep them out of future analysis if they wish. The capture is used for the search only and is not stored.</source>
        <translation>ご本人の立ち会いのもとで、顔を撮影して保有データを確認し、ご希望があれば削除し、今後の分析から除外（オプトアウト）します。撮影した顔は検索にのみ使い、保存しません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="111"/>
        <source>Camera: %1</source>
        <translation>カメラ: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="112"/>
        <source>A picture the person brings…</source>
        <translation>ご本人が持参した写真…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="114"/>
        <source>Capture and search</source>
        <translation>撮影して検索</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="131"/>
        <source>Visits</source>
        <translation>来店数</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="132"/>
        <source>First visit</source>
        <translation>初回来店</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="133"/>
        <source>Last visit</source>
        <translation>最終来店</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="134"/>
        <source>Stores</source>
        <translation>店舗</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="135"/>
        <source>Age band / gender</source>
        <translation>年代・性別</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="136"/>
        <source>Kept until</source>
        <translation>保存期限</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="137"/>
        <source>Held data</source>
        <translation>保有データ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="153"/>
        <source>Keep this person out of future analysis (opt-out)</source>
        <translation>今後の分析から除外する（オプトアウト）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="155"/>
        <location filename="../../desktopapp/ui/public_requests.py" line="231"/>
        <source>Delete what is held…</source>
        <translation>保有データを削除…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="159"/>
        <source>Print a receipt…</source>
        <translation>控えを印刷…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="172"/>
        <source>The person&apos;s picture</source>
        <translation>ご本人の写真</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="240"/>
        <source>%1 other record(s) were made with an earlier face features model and could not be searched.</source>
        <translation>ほかに %1 件の記録が以前の顔特徴量モデルで作られており、検索できませんでした。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="275"/>
        <source>Delete everything held about this person (%1)? This cannot be undone.</source>
        <translation>この方について保有しているデータ（%1）をすべて削除しますか？元に戻せません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="313"/>
        <source>Deleted: %1.</source>
        <translation>削除しました: %1。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="329"/>
        <source>1 record</source>
        <translation>1件</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="329"/>
        <source>%1 records</source>
        <translation>%1件</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="344"/>
        <source>Store</source>
        <translation>店舗</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="345"/>
        <source>Date</source>
        <translation>日時</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="353"/>
        <source>Record %1</source>
        <translation>データ %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="354"/>
        <source>%1 visits from %2 to %3, kept until %4</source>
        <translation>来店 %1 回（%2〜%3）、%4 まで保存</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="362"/>
        <source>Found</source>
        <translation>照会結果</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="362"/>
        <source>Nothing is held about you.</source>
        <translation>お客様に関するデータは保有していません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="364"/>
        <source>Deleted</source>
        <translation>削除</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="364"/>
        <source>Everything listed above was deleted.</source>
        <translation>上記のデータはすべて削除しました。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="368"/>
        <source>Opt-out</source>
        <translation>利用停止</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="369"/>
        <source>You will be left out of future analysis at this operator&apos;s stores.</source>
        <translation>今後、当社の店舗での分析の対象外とします。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="373"/>
        <source>Contact</source>
        <translation>お問い合わせ先</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="378"/>
        <source>Your request about camera data</source>
        <translation>カメラ画像に関するご請求の控え</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="384"/>
        <source>This receipt holds no picture of you and no face feature data. The picture used to find your data was not stored.</source>
        <translation>この控えには、お客様の画像や顔特徴量データは含まれていません。データの照会に使った画像も保存していません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="400"/>
        <source>The receipt was sent to the printer.</source>
        <translation>控えをプリンターに送りました。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/counter_capture.py" line="50"/>
        <source>Pictures (%1)</source>
        <translation>画像 (%1)</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="188"/>
        <source>Looking for a face…</source>
        <translation>顔を探しています…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="198"/>
        <source>%1 feature records, %2 path points</source>
        <translation>特徴量 %1件、動線 %2点</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="250"/>
        <source>opted out (no records kept)</source>
        <translation>オプトアウト済み（記録なし）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="210"/>
        <source>until withdrawn</source>
        <translation>取り消すまで</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="219"/>
        <source>Found for this person: %1.</source>
        <translation>この方のデータが見つかりました: %1。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="228"/>
        <source>This person has opted out already: a new opt-out adds this capture to it.</source>
        <translation>この方はすでに利用停止（オプトアウト）を申し出ています。もう一度申し出を記録すると、今回の撮影がその記録に追加されます。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="233"/>
        <source>Nothing is held about this person.</source>
        <translation>この方のデータは保有していません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="234"/>
        <source>Record the opt-out…</source>
        <translation>オプトアウトを登録…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="248"/>
        <source>enrolled staff (no records kept)</source>
        <translation>登録済みの従業員（記録なし）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="260"/>
        <source>No face could be seen. Ask the person to face the camera closely, or use a clearer picture.</source>
        <translation>顔が見つかりません。カメラに近づいて正面を向いていただくか、より鮮明な写真をお使いください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="266"/>
        <source>This did not work: %1</source>
        <translation>処理できませんでした: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="272"/>
        <source>Nothing to delete. Tick the opt-out to record it.</source>
        <translation>削除するデータはありません。オプトアウトを登録する場合はチェックを入れてください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="279"/>
        <source>Their face feature will be kept only to leave them out of future analysis.</source>
        <translation>この方の顔特徴量は、今後の分析から除外するためだけに保存されます。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="281"/>
        <source>Delete</source>
        <translation>削除</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="317"/>
        <source>The person had opted out already; this capture was added to their opt-out.</source>
        <translation>この方はすでに利用停止を申し出ていました。今回の撮影をその記録に追加しました。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/public_requests.py" line="321"/>
        <source>The person will be left out of future analysis.</source>
        <translation>この方は今後の分析から除外されます。</translation>
    </message>
</context>
<context>
    <name>PurgeDialog</name>
    <message>
        <location filename="../../desktopapp/ui/purge_dialog.py" line="44"/>
        <source>Delete all personal data</source>
        <translation>個人データをすべて削除</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/purge_dialog.py" line="51"/>
        <source>This deletes every visitor, feature record, visit and movement path of this PC for good: they cannot be recovered, not even from the database file. Cameras stop while it runs. The audit log, cameras, notice and accounts stay. Opt-outs and enrolled staff stay too, so that people who asked not to be analysed remain left out, unless you tick the box below.</source>
        <translation>このPCのすべての来店者・特徴量データ・来店記録・動線を完全に削除します。データベースファイルからも復元できません。実行中はカメラが止まります。監査ログ・カメラ・告知内容・アカウントは残ります。分析しないよう申し出た方が引き続き対象外となるよう、利用停止（オプトアウト）と登録済みの従業員も残します（下のチェックを入れた場合を除く）。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/purge_dialog.py" line="62"/>
        <source>Keep the statistics (hourly counts that identify nobody)</source>
        <translation>統計は残す（個人を識別しない時間帯別の件数）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/purge_dialog.py" line="67"/>
        <source>Also delete opt-outs and staff: they will be analysed again like any visitor</source>
        <translation>利用停止と従業員も削除する（以後、他の来店者と同じく分析されます）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/purge_dialog.py" line="72"/>
        <source>DELETE</source>
        <translation>削除</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/purge_dialog.py" line="74"/>
        <source>To confirm, type %1 below.</source>
        <translation>確認のため、下に「%1」と入力してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/purge_dialog.py" line="89"/>
        <source>Delete everything</source>
        <translation>すべて削除</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/purge_dialog.py" line="113"/>
        <source>Deleting…</source>
        <translation>削除しています…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/purge_dialog.py" line="130"/>
        <source>Deleted %1 visitors, %2 feature records, %3 visits and %4 path points.</source>
        <translation>来店者%1人、特徴量%2件、来店記録%3件、動線%4点を削除しました。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/purge_dialog.py" line="137"/>
        <source>Opt-outs and staff kept: %1.</source>
        <translation>残した利用停止・従業員: %1件。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/purge_dialog.py" line="149"/>
        <source>Nothing was deleted: %1</source>
        <translation>何も削除されませんでした: %1</translation>
    </message>
</context>
<context>
    <name>RecoveryDialog</name>
    <message>
        <location filename="../../desktopapp/ui/recovery.py" line="33"/>
        <source>Raiten — the database is damaged</source>
        <translation>Raiten — データベースが破損しています</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/recovery.py" line="52"/>
        <source>Start with an empty database (the damaged file is kept aside)</source>
        <translation>空のデータベースで始める（破損したファイルは別の場所に残します）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/recovery.py" line="55"/>
        <source>Quit</source>
        <translation>終了</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/recovery.py" line="67"/>
        <source>Restore the automatic backup of a day you choose: what was recorded after it is lost. Or start with an empty database: the wizard opens again.</source>
        <translation>選んだ日の自動バックアップから復元してください。それ以降に記録した内容は失われます。または空のデータベースで始めることもできます（初期設定ウィザードがもう一度開きます）。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/recovery.py" line="75"/>
        <source>There is no backup yet. Start with an empty database (the wizard opens again), or quit and ask for help: the damaged file stays as it is.</source>
        <translation>バックアップはまだありません。空のデータベースで始めるか（初期設定ウィザードがもう一度開きます）、終了して担当者に相談してください。破損したファイルはそのまま残ります。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/recovery.py" line="84"/>
        <source>Restore from the backup of %1</source>
        <translation>バックアップ（%1）から復元する</translation>
    </message>
</context>
<context>
    <name>RegistersDialog</name>
    <message>
        <location filename="../../desktopapp/ui/registers_dialog.py" line="54"/>
        <source>Registers and cameras</source>
        <translation>レジとカメラ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/registers_dialog.py" line="59"/>
        <source>A sale is linked to a visit only when exactly one person was seen by the register&apos;s camera at the time of sale. Choose the checkout zone of the picture so that people elsewhere in it are not counted.</source>
        <translation>販売時刻にレジのカメラに写っていたのが1人だけのときに限り、売上を来店に結び付けます。映像内のレジのエリアを選ぶと、ほかの場所にいる人は数えません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/registers_dialog.py" line="69"/>
        <location filename="../../desktopapp/ui/registers_dialog.py" line="88"/>
        <source>Store</source>
        <translation>店舗</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/registers_dialog.py" line="69"/>
        <location filename="../../desktopapp/ui/registers_dialog.py" line="89"/>
        <source>Register</source>
        <translation>レジ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/registers_dialog.py" line="69"/>
        <location filename="../../desktopapp/ui/registers_dialog.py" line="90"/>
        <source>Camera</source>
        <translation>カメラ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/registers_dialog.py" line="69"/>
        <location filename="../../desktopapp/ui/registers_dialog.py" line="91"/>
        <source>Zone</source>
        <translation>エリア</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/registers_dialog.py" line="82"/>
        <source>as written in the POS export, e.g. 1</source>
        <translation>POSの出力どおり（例: 1）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/registers_dialog.py" line="94"/>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/registers_dialog.py" line="97"/>
        <source>Remove</source>
        <translation>削除</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/registers_dialog.py" line="114"/>
        <source>Add a camera first (Cameras menu).</source>
        <translation>先にカメラを追加してください（カメラメニュー）。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/registers_dialog.py" line="123"/>
        <location filename="../../desktopapp/ui/registers_dialog.py" line="146"/>
        <source>(the whole picture)</source>
        <translation>（映像全体）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/registers_dialog.py" line="145"/>
        <source>camera %1</source>
        <translation>カメラ %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/registers_dialog.py" line="168"/>
        <source>Choose a store, a register and a camera.</source>
        <translation>店舗・レジ・カメラを選んでください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/registers_dialog.py" line="182"/>
        <source>Saved. %1 earlier purchases were linked to visits.</source>
        <translation>保存しました。これまでの購買 %1 件を来店に結び付けました。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/registers_dialog.py" line="203"/>
        <source>This could not be saved: %1</source>
        <translation>保存できませんでした: %1</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="370"/>
        <source>Settings</source>
        <translation>設定</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="377"/>
        <source>Notice profile</source>
        <translation>告知内容</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="378"/>
        <source>General</source>
        <translation>全般</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="379"/>
        <source>Accounts</source>
        <translation>アカウント</translation>
    </message>
</context>
<context>
    <name>SignageDialog</name>
    <message>
        <location filename="../../desktopapp/ui/signage_dialog.py" line="57"/>
        <source>Signage</source>
        <translation>掲示物</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/signage_dialog.py" line="63"/>
        <source>Print this notice and put it up where people see it before they enter the cameras&apos; view, for example at the entrance. It shows notice version %1 of %2; change the notice in Settings and print again.</source>
        <translation>この掲示物を印刷し、カメラの撮影範囲に入る前に目に入る場所（入口など）に掲示してください。%2 作成の告知内容 第%1版を表示しています。内容を変えるときは設定で告知内容を変更し、印刷し直してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/signage_dialog.py" line="77"/>
        <source>Japanese and English (Japanese above)</source>
        <translation>日本語と英語（日本語が上）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/signage_dialog.py" line="82"/>
        <source>Language</source>
        <translation>言語</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/signage_dialog.py" line="83"/>
        <source>Paper</source>
        <translation>用紙</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/signage_dialog.py" line="85"/>
        <source>Save as PDF…</source>
        <translation>PDFで保存…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/signage_dialog.py" line="89"/>
        <source>Print…</source>
        <translation>印刷…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/signage_dialog.py" line="97"/>
        <source>The notice has no web address for its full policy, so the sign has a second page with the full policy: put it up beside the first or keep it at the counter.</source>
        <translation>詳しい取扱い（プライバシーポリシー）のウェブアドレスがないため、掲示は2ページになり、2ページ目に詳しい取扱いを載せます。1ページ目の隣に掲示するか、レジなどに置いてください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/signage_dialog.py" line="120"/>
        <source>Drawing the preview…</source>
        <translation>プレビューを作成しています…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/signage_dialog.py" line="213"/>
        <source>Sent to the printer: %1</source>
        <translation>プリンターに送りました: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/signage_dialog.py" line="219"/>
        <source>Save the sign as PDF</source>
        <translation>掲示物をPDFで保存</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/signage_dialog.py" line="241"/>
        <source>Saved: %1</source>
        <translation>保存しました: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/signage_dialog.py" line="253"/>
        <source>The sign could not be made: %1</source>
        <translation>掲示物を作成できません: %1</translation>
    </message>
</context>
<context>
    <name>StaffDialog</name>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="72"/>
        <source>Staff</source>
        <translation>従業員</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="77"/>
        <source>Employees who agree can be enrolled so that Raiten leaves them out of every statistic. Raiten keeps no name: write the staff number it gives on the employee&apos;s signed consent form, and keep the form. The capture is used for the enrolment only and is never shown.</source>
        <translation>同意した従業員を登録すると、Raiten はその方をすべての集計から除外します。Raiten は名前を保存しません。表示される従業員番号を、従業員が署名した同意書に書き込み、同意書を保管してください。撮影は登録にだけ使い、画面には表示しません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="90"/>
        <source>Staff number</source>
        <translation>従業員番号</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="91"/>
        <source>Consented on</source>
        <translation>同意日</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="92"/>
        <source>Recorded</source>
        <translation>登録</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="93"/>
        <source>Captures</source>
        <translation>撮影数</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="102"/>
        <source>Remove the selected staff member…</source>
        <translation>選択した従業員の登録を取り消す…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="114"/>
        <source>Camera: %1</source>
        <translation>カメラ: %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="115"/>
        <source>A picture of the employee…</source>
        <translation>従業員の写真…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="117"/>
        <source>Capture from</source>
        <translation>撮影元</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="123"/>
        <source>Consent given on</source>
        <translation>同意した日</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="126"/>
        <source>The employee has agreed, in writing, to be recognised as staff</source>
        <translation>従業員が従業員として認識されることに書面で同意しました</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="131"/>
        <source>Capture and enrol</source>
        <translation>撮影して登録</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="159"/>
        <source>%1 by %2</source>
        <translation>%1（%2）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="164"/>
        <source>Staff %1</source>
        <translation>従業員 %1</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="175"/>
        <source>Tick the box once the employee has agreed.</source>
        <translation>従業員の同意を得たらチェックを入れてください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="177"/>
        <source>The employee&apos;s picture</source>
        <translation>従業員の写真</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="192"/>
        <source>Looking for a face…</source>
        <translation>顔を探しています…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="199"/>
        <source>This employee is enrolled already as staff %1: the capture was added to it.</source>
        <translation>この方はすでに従業員 %1 として登録されています。今回の撮影をその登録に追加しました。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="202"/>
        <source>Enrolled as staff %1. Write this number on the signed consent form.</source>
        <translation>従業員 %1 として登録しました。この番号を署名済みの同意書に書き込んでください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="211"/>
        <source>Select a staff member first.</source>
        <translation>先に従業員を選んでください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="216"/>
        <source>Remove staff member</source>
        <translation>従業員の登録取り消し</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="218"/>
        <source>Remove staff %1? Their captures are deleted and they will be analysed like any visitor from now on.</source>
        <translation>従業員 %1 の登録を取り消しますか？撮影データは削除され、以後は他の来店者と同じく分析されます。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="233"/>
        <source>Staff %1 removed; their captures are deleted.</source>
        <translation>従業員 %1 の登録を取り消し、撮影データを削除しました。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="246"/>
        <source>No face could be seen. Ask the employee to face the camera closely, or use a clearer picture.</source>
        <translation>顔が見つかりませんでした。従業員にカメラの近くで正面を向いてもらうか、より鮮明な写真を使ってください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/staff_dialog.py" line="253"/>
        <source>This did not work: %1</source>
        <translation>処理できませんでした: %1</translation>
    </message>
</context>
<context>
    <name>StoreHealthLabel</name>
    <message>
        <location filename="../../desktopapp/ui/store_health.py" line="47"/>
        <source>Visits are not being recorded: %1 %2 visits are kept in memory and will be written when this is fixed.</source>
        <translation>来店を記録できていません: %1 %2 件の来店をメモリーに保持しており、解決すると書き込みます。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/store_health.py" line="55"/>
        <source>%1 visits could not be kept and are lost.</source>
        <translation>%1 件の来店を保持しきれず、失われました。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/store_health.py" line="62"/>
        <source>The daily backup could not be written: %1</source>
        <translation>毎日のバックアップを書き込めませんでした: %1</translation>
    </message>
</context>
<context>
    <name>UserGuide</name>
    <message>
        <location filename="../../desktopapp/ui/user_guide.py" line="37"/>
        <source>User guide</source>
        <translation>使い方ガイド</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/user_guide.py" line="64"/>
        <source>The user guide is missing: reinstall Raiten.</source>
        <translation>使い方ガイドが見つかりません。Raiten を再インストールしてください。</translation>
    </message>
</context>
<context>
    <name>_AccountsTab</name>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="164"/>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="249"/>
        <source>Name</source>
        <translation>名前</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="164"/>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="240"/>
        <source>Role</source>
        <translation>権限</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="164"/>
        <source>Since / locked until</source>
        <translation>作成日 / ロック期限</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="181"/>
        <source>Add account…</source>
        <translation>アカウントを追加…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="182"/>
        <source>Change role…</source>
        <translation>権限を変更…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="183"/>
        <source>Set password…</source>
        <translation>パスワードを設定…</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="184"/>
        <source>Unlock</source>
        <translation>ロック解除</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="186"/>
        <source>Remove</source>
        <translation>削除</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="211"/>
        <source>locked until %1</source>
        <translation>%1までロック中</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="219"/>
        <source>Select an account first.</source>
        <translation>先にアカウントを選んでください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="249"/>
        <source>Add account</source>
        <translation>アカウントを追加</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="260"/>
        <source>Account %1 added.</source>
        <translation>アカウント %1 を追加しました。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="271"/>
        <source>%1 is now %2.</source>
        <translation>%1 の権限を %2 にしました。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="284"/>
        <source>The password of %1 was changed.</source>
        <translation>%1 のパスワードを変更しました。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="293"/>
        <source>%1 is not locked.</source>
        <translation>%1 はロックされていません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="298"/>
        <source>%1 is unlocked and can sign in again.</source>
        <translation>%1 のロックを解除しました。再びサインインできます。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="307"/>
        <source>Remove account</source>
        <translation>アカウントを削除</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="308"/>
        <source>Remove the account &quot;%1&quot;?</source>
        <translation>アカウント「%1」を削除しますか？</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="315"/>
        <source>Account %1 removed.</source>
        <translation>アカウント %1 を削除しました。</translation>
    </message>
</context>
<context>
    <name>_AdminPage</name>
    <message>
        <location filename="../../desktopapp/ui/first_run.py" line="115"/>
        <source>Administrator account</source>
        <translation>管理者アカウント</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/first_run.py" line="118"/>
        <source>The administrator can change settings and cameras, answer requests from the public and delete data. Other staff get their own accounts later.</source>
        <translation>管理者は設定やカメラの変更、本人からの請求対応、データの削除ができます。他のスタッフのアカウントは後から作成できます。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/first_run.py" line="133"/>
        <source>Name</source>
        <translation>名前</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/first_run.py" line="134"/>
        <source>Password</source>
        <translation>パスワード</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/first_run.py" line="135"/>
        <source>Password again</source>
        <translation>パスワード（確認）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/first_run.py" line="149"/>
        <source>Enter a name for the administrator.</source>
        <translation>管理者の名前を入力してください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/first_run.py" line="152"/>
        <source>The two passwords differ.</source>
        <translation>2つのパスワードが一致しません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/first_run.py" line="168"/>
        <source>Setup could not be saved: %1</source>
        <translation>設定を保存できません: %1</translation>
    </message>
</context>
<context>
    <name>_GeneralTab</name>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="112"/>
        <source>Same as the computer</source>
        <translation>コンピューターの設定に合わせる</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="118"/>
        <source> min</source>
        <translation> 分</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="120"/>
        <source>Language of the screens</source>
        <translation>画面の言語</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="121"/>
        <source>Lock the screen after no use for</source>
        <translation>操作がないときに画面をロックするまでの時間</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="122"/>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="140"/>
        <source>Saved.</source>
        <translation>保存しました。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="150"/>
        <source>Could not save: %1</source>
        <translation>保存できません: %1</translation>
    </message>
</context>
<context>
    <name>_NoticeTab</name>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="64"/>
        <source>Save notice</source>
        <translation>告知内容を保存</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="71"/>
        <source>No notice has been saved yet.</source>
        <translation>告知内容はまだ保存されていません。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="76"/>
        <source>Notice version %1, in force since %2. Saving a change makes a new version: print the sign again and replace the old one.</source>
        <translation>告知内容 第%1版（%2から有効）。変更を保存すると新しい版になります。掲示物を印刷し直して差し替えてください。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/settings_dialog.py" line="99"/>
        <source>The notice could not be saved: %1</source>
        <translation>告知内容を保存できません: %1</translation>
    </message>
</context>
<context>
    <name>_WelcomePage</name>
    <message>
        <location filename="../../desktopapp/ui/first_run.py" line="43"/>
        <source>Welcome to Raiten</source>
        <translation>Raiten へようこそ</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/first_run.py" line="47"/>
        <source>Raiten analyses camera images in this PC&apos;s memory and never stores a picture. Before any camera is analysed, the public must be told what you do: this wizard writes that notice with you and creates the administrator account.</source>
        <translation>Raiten はカメラ画像をこのPCのメモリ上で分析し、画像を保存しません。分析を始める前に、何をするのかを来店者に知らせる必要があります。このウィザードで告知内容を作成し、管理者アカウントを作ります。</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/first_run.py" line="56"/>
        <source>Set up my store</source>
        <translation>店舗を設定する</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/first_run.py" line="61"/>
        <source>Explore with the demo camera first (a sample notice marked DEMO, kept apart from your store&apos;s data)</source>
        <translation>まずデモカメラで試す（DEMOと表示されたサンプルの告知。店舗のデータとは別に保存）</translation>
    </message>
    <message>
        <location filename="../../desktopapp/ui/first_run.py" line="81"/>
        <source>Open the demo</source>
        <translation>デモを開く</translation>
    </message>
</context>
</TS>
