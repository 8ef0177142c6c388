{#- The scenario clock: dbt's "now" (models, tests, source freshness) is the var scenario_now, not today. -#}
{% macro duckdb__current_timestamp() -%}
    cast('{{ var("scenario_now") }}' as timestamp)
{%- endmacro %}
