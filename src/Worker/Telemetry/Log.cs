namespace Worker.Telemetry;

internal static partial class Log
{
    [LoggerMessage(EventId = 2400, Level = LogLevel.Information,
        Message = "Telemetry export is off: set OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_METRICS_ENDPOINT) to send traces and metrics by OTLP")]
    public static partial void ExportOff(ILogger logger);

    [LoggerMessage(EventId = 2401, Level = LogLevel.Information,
        Message = "Telemetry export is on as service {ServiceName} over {Protocol}: traces to {TracesEndpoint}, metrics to {MetricsEndpoint}")]
    public static partial void ExportOn(ILogger logger, string serviceName, string protocol, string tracesEndpoint, string metricsEndpoint);
}
