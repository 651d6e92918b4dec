ALTER TABLE connections ADD COLUMN consent_os_user TEXT;
