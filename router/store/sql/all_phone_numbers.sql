-- Every stored phone number a dialed string can equal (dialed strings never hold a
-- backslash, and COPY's text format would escape one).
SELECT phone_number FROM incoming_numbers WHERE strpos(phone_number, E'\\') = 0
