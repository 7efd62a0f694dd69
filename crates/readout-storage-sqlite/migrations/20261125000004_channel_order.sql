-- Claims look for each channel's oldest pending notice.
CREATE INDEX notifications_channel_pending ON notifications (channel_id, status, id);
