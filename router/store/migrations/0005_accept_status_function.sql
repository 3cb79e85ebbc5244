-- Accepting a status event in one round trip: the steps of DESIGN 5 (lock the call,
-- record the status once, update the call, take the next SequenceNumber, queue the
-- callback, notify) run server-side in the statement's own transaction.
-- Returns 'accepted' or 'duplicate'; a status after a terminal one raises RT409.
CREATE FUNCTION accept_call_status(
    p_call_sid text,
    p_status text,
    p_details jsonb,
    p_terminal text[],
    p_url text,
    p_method text,
    p_host text,
    p_params jsonb,
    p_delivery_id text
) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_current text;
    v_account text;
    v_sequence integer;
BEGIN
    SELECT status, account_sid INTO v_current, v_account
      FROM calls WHERE sid = p_call_sid FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;
    INSERT INTO call_events (call_sid, call_status, details)
    VALUES (p_call_sid, p_status, p_details)
    ON CONFLICT (call_sid, call_status) DO NOTHING;
    IF NOT FOUND THEN
        RETURN 'duplicate';
    END IF;
    IF v_current = ANY (p_terminal) AND v_current <> p_status THEN
        RAISE EXCEPTION USING ERRCODE = 'RT409', MESSAGE = v_current;
    END IF;
    UPDATE calls SET status = p_status, date_updated = now() WHERE sid = p_call_sid;
    IF p_url IS NULL THEN
        RETURN 'accepted';
    END IF;
    UPDATE calls SET next_sequence = next_sequence + 1 WHERE sid = p_call_sid
    RETURNING next_sequence - 1 INTO v_sequence;
    INSERT INTO callbacks (call_sid, sequence_number, call_status, account_sid, url, method,
                           host, params, delivery_id)
    VALUES (p_call_sid, v_sequence, p_status, v_account, p_url, p_method, p_host,
            p_params || jsonb_build_object('SequenceNumber', v_sequence::text), p_delivery_id);
    PERFORM pg_notify('callbacks_ready', '');
    RETURN 'accepted';
END
$$;
