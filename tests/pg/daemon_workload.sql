-- The daemon tests' workload: three tables and a procedure that changes
-- them in small transactions until told to stop (work_ctl.state):
--   a  primary key: inserts, updates, key-changing updates, deletes
--   b  composite key (k1, k2): inserts, updates, deletes
--   c  no key (REPLICA IDENTITY FULL): inserts with duplicates, deleting
--      one of two identical rows
-- Values are integers and text without leading or trailing blanks, so
-- Postgres' CSV and floe's CSV are the same text.
DROP TABLE IF EXISTS a, b, c, work_ctl;
CREATE TABLE a (id int PRIMARY KEY, v text, n int NOT NULL DEFAULT 0);
CREATE TABLE b (k1 int, k2 text, v bigint, PRIMARY KEY (k1, k2));
CREATE TABLE c (x int, y text);
ALTER TABLE c REPLICA IDENTITY FULL;
CREATE TABLE work_ctl (state text NOT NULL, ack bool NOT NULL DEFAULT false,
                       txns bigint NOT NULL DEFAULT 0);
INSERT INTO work_ctl VALUES ('run');
DROP SEQUENCE IF EXISTS a_ids;
CREATE SEQUENCE a_ids START 100000;

INSERT INTO a SELECT g, 'row,' || g || ' "q"', g % 7 FROM generate_series(1, 2000) g;
INSERT INTO b SELECT g % 50, 'k' || g, g * 1000 FROM generate_series(1, 1000) g;
INSERT INTO c SELECT g % 100, 'dup' || (g % 100) FROM generate_series(1, 500) g;

CREATE OR REPLACE PROCEDURE work(sleep_ms int) LANGUAGE plpgsql AS $$
DECLARE
  st text;
  r float8;
  k int;
  i int;
BEGIN
  LOOP
    SELECT state INTO st FROM work_ctl;
    IF st = 'stop' THEN
      UPDATE work_ctl SET ack = true;
      COMMIT;
      RETURN;
    END IF;
    IF st = 'pause' THEN
      UPDATE work_ctl SET ack = true;
      COMMIT;
      PERFORM pg_sleep(0.01);
      CONTINUE;
    END IF;
    -- one transaction of 1..4 changes
    FOR i IN 1 .. 1 + floor(random() * 4)::int LOOP
      r := random();
      k := floor(random() * 3000)::int;
      IF r < 0.30 THEN
        INSERT INTO a VALUES (nextval('a_ids'), md5(random()::text), 1);
      ELSIF r < 0.45 THEN
        UPDATE a SET v = md5(random()::text), n = n + 1 WHERE id = k;
      ELSIF r < 0.50 THEN
        UPDATE a SET id = nextval('a_ids') WHERE id = k;
      ELSIF r < 0.58 THEN
        DELETE FROM a WHERE id = k;
      ELSIF r < 0.70 THEN
        INSERT INTO b VALUES (k % 50, 'n' || nextval('a_ids'), k)
          ON CONFLICT DO NOTHING;
      ELSIF r < 0.78 THEN
        UPDATE b SET v = v + 1 WHERE k1 = k % 50 AND k2 = 'k' || k;
      ELSIF r < 0.82 THEN
        DELETE FROM b WHERE k1 = k % 50 AND k2 = 'k' || k;
      ELSIF r < 0.92 THEN
        INSERT INTO c VALUES (k % 100, 'dup' || (k % 100));
      ELSE
        DELETE FROM c WHERE ctid = (SELECT ctid FROM c WHERE x = k % 100 LIMIT 1);
      END IF;
    END LOOP;
    UPDATE work_ctl SET txns = txns + 1, ack = false;
    COMMIT;
    IF sleep_ms > 0 THEN
      PERFORM pg_sleep(sleep_ms / 1000.0);
    END IF;
  END LOOP;
END $$;
