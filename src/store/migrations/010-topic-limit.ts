/**
 * A tenant's maximum of topics (TENANT_LIMITS max_topics, docs/tenants.md "Quotas"), decided by the database: the
 * batch statement (src/store/sql.ts, INSERT_BATCH) calls this with the topic_count its stats_totals upsert returned,
 * which is the row's newest committed value plus the batch's own new topics, read under the row's lock; so two
 * replicas adding topics at once cannot both pass the last free place. Only a batch that created a topic is
 * refused: a tenant whose limit was lowered below its count keeps writing to the topics it has. `created` is an
 * argument, not a condition beside the call: the planner may evaluate a condition on one side of a join before
 * the join and would then call this for every batch. Over the limit it raises SQLSTATE LA001
 * (a class PostgreSQL does not use), which rolls the whole batch back; the store maps it to 429 QUOTA_EXCEEDED.
 * A function because SQL alone cannot raise an error; plpgsql, which both engines ship.
 */
export const sql = `
CREATE FUNCTION logagg_topic_limit(tenant text, topic_count bigint, created bigint, max_topics bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  IF created > 0 AND max_topics IS NOT NULL AND topic_count > max_topics THEN
    RAISE EXCEPTION USING ERRCODE = 'LA001',
      MESSAGE = format('tenant %s is at its maximum of %s topics', to_json(tenant), max_topics);
  END IF;
  RETURN true;
END $$;
`;
