-- The audit log's staging model, shared by every module: its SQL is the macro of dbt/pipeline_runs/.
{{ pipeline_runs.stg_pipeline_runs() }}
