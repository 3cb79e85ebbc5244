-- The countries for which the inventory holds at least one free number.
SELECT DISTINCT country FROM inventory WHERE assigned_sid IS NULL ORDER BY country
