-- 0008: polls closed early by staff, and who created a poll.

ALTER TABLE polls ADD COLUMN closed_at TEXT;      -- RFC 3339, when staff closed it before closes_on
ALTER TABLE polls ADD COLUMN created_by TEXT;     -- user name; NULL for demo and ingested polls
