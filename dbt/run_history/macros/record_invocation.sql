{#-
    record_invocation(results): the on-run-end hook of run, build, test, seed, snapshot and source freshness (the
    monitor tells the job's runs from its checks by the command). Appends one row to dbt_invocations_history (the
    command, its --select/--exclude/--selector arguments, start, end, status) and one row per selected node to
    dbt_node_results_history (status, start, end, seconds, rows affected and, for a table or incremental model
    that ran, its row count and the sum of its meta.monitor_metric column). Times are TIMESTAMPTZ.
    Schema: var run_history_schema, else the target's schema.
-#}
{% macro record_invocation(results) -%}
    {%- if not execute or flags.WHICH not in ("run", "build", "test", "seed", "snapshot", "freshness", "source") -%}
        {{ return("") }}
    {%- endif -%}
    {%- set schema = var("run_history_schema", target.schema) -%}
    {%- set invocations = adapter.quote(schema) ~ "." ~ adapter.quote("dbt_invocations_history") -%}
    {%- set nodes = adapter.quote(schema) ~ "." ~ adapter.quote("dbt_node_results_history") -%}
    {%- set args = invocation_args_dict -%}
    {%- set statuses = results | map(attribute="status") | map("string") | list -%}
    {%- set failed = statuses | select("in", ["error", "fail", "runtime error"]) | list -%}
    {%- set ended = modules.datetime.datetime.now(modules.pytz.utc) -%}
    create schema if not exists {{ adapter.quote(schema) }};
    create table if not exists {{ invocations }} (
        invocation_id varchar, command varchar, selected varchar, excluded varchar, selector varchar,
        started_at timestamptz, ended_at timestamptz, status varchar, nodes integer, target_name varchar
    );
    create table if not exists {{ nodes }} (
        invocation_id varchar, unique_id varchar, name varchar, resource_type varchar, materialized varchar,
        status varchar, started_at timestamptz, ended_at timestamptz, execution_seconds double,
        rows_affected bigint, row_count bigint, metric_sum double
    );
    insert into {{ invocations }} values (
        '{{ invocation_id }}', '{{ flags.WHICH }}', {{ incidentlab_run_history.sql_text(args.get("select")) }},
        {{ incidentlab_run_history.sql_text(args.get("exclude")) }},
        {{ incidentlab_run_history.sql_text(args.get("selector")) }},
        {{ incidentlab_run_history.sql_time(run_started_at) }}, {{ incidentlab_run_history.sql_time(ended) }},
        '{{ "error" if failed else "success" }}', {{ results | length }}, '{{ target.name }}'
    );
    {%- for result in results %}
    {%- set node = result.node -%}
    {%- set timing = result.timing | selectattr("name", "equalto", "execute") | list -%}
    {%- set rows = (result.adapter_response or {}).get("rows_affected") -%}
    {%- set materialized = node.config.materialized if node.config else none -%}
    {%- set counted = node.resource_type == "model" and materialized in ("table", "incremental")
                      and result.status | string == "success" -%}
    {%- set relation = adapter.quote(node.schema) ~ "." ~ adapter.quote(node.alias or node.name) -%}
    {%- set metric = ((node.config.meta if node.config else {}) or {}).get("monitor_metric") or (node.meta or {}).get("monitor_metric") -%}
    insert into {{ nodes }} values (
        '{{ invocation_id }}', '{{ node.unique_id }}', '{{ node.name }}', '{{ node.resource_type }}',
        {{ incidentlab_run_history.sql_text(materialized) }}, '{{ result.status }}',
        {{ incidentlab_run_history.sql_time(timing[0].started_at if timing else none) }},
        {{ incidentlab_run_history.sql_time(timing[0].completed_at if timing else none) }},
        {{ result.execution_time or 0 }}, {{ rows if rows is number else "null" }},
        {% if counted %}(select count(*) from {{ relation }}){% else %}null{% endif %},
        {% if counted and metric is string %}(select cast(sum({{ adapter.quote(metric) }}) as double) from {{ relation }}){% else %}null{% endif %}
    );
    {%- endfor %}
{%- endmacro %}


{#- A SQL string literal of a value (a list of selection arguments is joined by spaces), or null. -#}
{% macro sql_text(value) -%}
    {%- if value is none or value == [] -%}null
    {%- else -%}
        {%- set text = value | join(" ") if value is iterable and value is not string else value | string -%}
        '{{ text | replace("'", "''") }}'
    {%- endif -%}
{%- endmacro %}


{#- A TIMESTAMPTZ literal of a datetime (a naive one is UTC, as dbt's timings are), or null. -#}
{% macro sql_time(value) -%}
    {%- if value is none -%}null
    {%- else -%}
        {%- set aware = value if value.tzinfo else value.replace(tzinfo=modules.pytz.utc) -%}
        cast('{{ aware.isoformat() }}' as timestamptz)
    {%- endif -%}
{%- endmacro %}
