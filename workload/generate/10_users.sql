-- =============================================================================
-- Users :lo < id <= :hi of a run of :total users, as of :t0
-- =============================================================================
-- 85% active, 8% pending, 4% suspended, 3% deleted; 40% individuals with a
-- TCKN, 30% companies with a VKN, a company name and a tax office; 80% with a
-- Turkish mobile number; 10% sign in through SSO only (no password hash).
INSERT INTO users (
    id, email, phone, password_hash, role, status, locale, timezone, tax_no,
    company_name, tax_office, email_verified_at, phone_verified_at,
    last_login_at, metadata, created_at, updated_at, deleted_at
)
OVERRIDING SYSTEM VALUE
SELECT
    u.id,
    -- ASCII local part from a Turkish name; the id keeps it unique. Case is
    -- folded by translate(), letter by letter, never by lower(): in a
    -- Turkish database lower('I') is 'ı', which no address may hold.
    translate(
        u.first_name || '.' || u.last_name,
        'ABCDEFGHIJKLMNOPQRSTUVWXYZÇĞİÖŞÜçğıöşü',
        'abcdefghijklmnopqrstuvwxyzcgiosucgiosu'
    ) || u.id || '@' || CASE
        WHEN u.kind = 'company'
            THEN
                translate(
                    u.last_name,
                    'ABCDEFGHIJKLMNOPQRSTUVWXYZÇĞİÖŞÜçğıöşü',
                    'abcdefghijklmnopqrstuvwxyzcgiosucgiosu'
                )
                || '-makina.com.tr'
        ELSE bench.choose(
            '{gmail.com,gmail.com,gmail.com,hotmail.com,outlook.com,yandex.com.tr,icloud.com}',
            u.id, 11
        )
    END AS email,
    -- +90 5xx: the operator code, then seven digits that are a bijection of
    -- the id (7919 is prime to 10^7), so numbers never repeat.
    CASE
        WHEN bench.pick(u.id, 12, 10) < 8
            THEN
                '+905'
                || bench.choose('{01,05,06,07,30,31,32,33,35,36,42,43,44,46,52,53,55}', u.id, 13)
                || lpad((u.id * 7919 % 10000000)::text, 7, '0')
    END AS phone,
    CASE
        WHEN bench.pick(u.id, 14, 10) = 0 THEN NULL
        WHEN bench.pick(u.id, 14, 10) < 8
            THEN
                '$argon2id$v=19$m=65536,t=3,p=4$'
                || rtrim(
                    encode(substr(sha256(convert_to('salt' || u.id, 'UTF8')), 1, 16), 'base64'), '='
                )
                || '$' || rtrim(encode(sha256(convert_to('pw' || u.id, 'UTF8')), 'base64'), '=')
        ELSE '$2b$12$' || substr(translate(encode(
            sha256(convert_to('bs' || u.id, 'UTF8')) || sha256(convert_to('bh' || u.id, 'UTF8')),
            'base64'
        ), '+', '.'), 1, 53)
    END AS password_hash,
    CASE
        WHEN bench.pick(u.id, 15, 100) < 60 THEN 'engineer'
        WHEN bench.pick(u.id, 15, 100) < 80 THEN 'operator'
        WHEN bench.pick(u.id, 15, 100) < 95 THEN 'viewer'
        ELSE 'admin'
    END::user_role AS role,
    u.status,
    CASE WHEN bench.pick(u.id, 16, 100) < 85 THEN 'tr' ELSE 'en' END::user_locale AS locale,
    CASE
        WHEN bench.pick(u.id, 17, 100) < 95 THEN 'Europe/Istanbul'
        ELSE bench.choose('{Europe/Berlin,Europe/London,Asia/Baku,Europe/Amsterdam}', u.id, 18)
    END AS timezone,
    CASE u.kind
        WHEN 'person' THEN bench.tckn(100000000 + bench.pick(u.id, 19, 900000000))
        WHEN 'company' THEN bench.vkn(bench.pick(u.id, 19, 1000000000))
    END AS tax_no,
    CASE
        WHEN u.kind = 'company'
            THEN u.last_name || ' ' || bench.choose(
                '{Makina Sanayi ve Ticaret A.Ş.,Kalıp Ltd. Şti.,CNC Teknoloji A.Ş.,'
                'Hassas İşleme Ltd. Şti.,Mühendislik ve Otomasyon A.Ş.}',
                u.id, 20
            )
    END AS company_name,
    CASE
        WHEN u.kind = 'company'
            THEN bench.choose(
                '{Ostim,İkitelli,Nilüfer,Kadıköy,Bornova,Gebze,Selçuk,Meram,Çankaya,'
                'Mecidiyeköy,Kozyatağı,Osmangazi,Karşıyaka,Tuzla,Beylikdüzü}',
                u.id, 21
            )
    END AS tax_office,
    CASE WHEN u.status <> 'pending' THEN u.created_at + interval '7 minutes' END
        AS email_verified_at,
    CASE
        WHEN u.status <> 'pending' AND bench.pick(u.id, 12, 10) < 6
            THEN u.created_at + interval '9 minutes'
    END AS phone_verified_at,
    u.last_login_at,
    jsonb_build_object(
        'onboarding', CASE WHEN u.status = 'pending' THEN 'started' ELSE 'done' END,
        'ui', jsonb_build_object(
            'theme', bench.choose('{light,dark,dark}', u.id, 22),
            'units', CASE WHEN bench.pick(u.id, 23, 50) = 0 THEN 'inch' ELSE 'mm' END
        ),
        'freecad_version', bench.choose('{0.21.2,1.0.0,1.0.1,1.0.2}', u.id, 24)
    ) AS metadata,
    u.created_at,
    coalesce(u.deleted_at, u.last_login_at, u.created_at) AS updated_at,
    u.deleted_at
FROM (
    SELECT
        s.*,
        CASE
            WHEN s.status = 'deleted'
                THEN s.created_at + (:t0 - s.created_at) * bench.frac(s.id, 25)
        END AS deleted_at,
        CASE
            WHEN s.status IN ('active', 'suspended')
                THEN greatest(s.created_at, :t0 - interval '60 days' * bench.frac(s.id, 26))
        END AS last_login_at
    FROM (
        SELECT
            g.id,
            bench.choose(
                '{Ayşe,Fatma,Emine,Hatice,Zeynep,Elif,Merve,Özlem,Şule,Tuğba,Selin,Ece,'
                'Mehmet,Mustafa,Ahmet,Ali,Hüseyin,Hasan,İbrahim,Murat,Emre,Burak,Can,'
                'Deniz,Gökhan,Serkan,Kemal,Oğuz,Çağlar,Barış}',
                g.id, 1
            ) AS first_name,
            bench.choose(
                '{Yılmaz,Kaya,Demir,Şahin,Çelik,Yıldız,Yıldırım,Öztürk,Aydın,Özdemir,'
                'Arslan,Doğan,Kılıç,Aslan,Çetin,Kara,Koç,Kurt,Özkan,Şimşek,Polat,Erdoğan}',
                g.id, 2
            ) AS last_name,
            CASE
                WHEN bench.pick(g.id, 3, 10) < 4 THEN 'person'
                WHEN bench.pick(g.id, 3, 10) < 7 THEN 'company'
                ELSE 'none'
            END AS kind,
            CASE
                WHEN bench.pick(g.id, 4, 100) < 85 THEN 'active'
                WHEN bench.pick(g.id, 4, 100) < 93 THEN 'pending'
                WHEN bench.pick(g.id, 4, 100) < 97 THEN 'suspended'
                ELSE 'deleted'
            END::user_status AS status,
            bench.user_created_at(g.id, :total, :t0) AS created_at
        FROM generate_series(:lo + 1, :hi) AS g (id)
    ) AS s
) AS u;
