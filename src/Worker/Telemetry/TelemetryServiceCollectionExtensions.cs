using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Worker.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>
    /// Traces (the worker's spans, MassTransit's, Npgsql's, HttpClient's and the ops API's) and metrics (the Worker meter,
    /// MassTransit's, the .NET runtime's), exported by OTLP as the standard OTEL_* variables say. Without an endpoint
    /// nothing is registered but a line in the log at start.
    /// </summary>
    public static IServiceCollection AddWorkerTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var settings = TelemetrySettings.From(configuration);
        services.AddSingleton(settings);
        services.AddHostedService<TelemetryStartLog>();
        if (!settings.Enabled)
            return services;

        // The SDK reads the endpoints, protocol, headers and resource attributes from the same configuration itself.
        var telemetry = services.AddOpenTelemetry().ConfigureResource(resource => resource.AddService(settings.ServiceName));
        if (settings.Tracing)
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource(WorkerActivity.Name, WorkerActivity.MassTransit)
                .AddNpgsql()
                // Query strings are redacted by default since 1.9 (OTEL_DOTNET_EXPERIMENTAL_HTTPCLIENT_DISABLE_URL_QUERY_REDACTION
                // turns that off: don't). Provider keys travel in headers anyway, and no header is recorded.
                .AddHttpClientInstrumentation()
                .AddAspNetCoreInstrumentation(o => o.Filter = http => !http.Request.Path.StartsWithSegments("/health"))
                .AddOtlpExporter());
        }

        if (settings.Metrics)
        {
            telemetry.WithMetrics(metrics => metrics
                .AddMeter(WorkerActivity.Name, WorkerActivity.MassTransit)
                .AddRuntimeInstrumentation()
                .AddOtlpExporter((_, reader) =>
                {
                    if (settings.MetricExportInterval is { } interval)
                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)interval.TotalMilliseconds;
                }));
        }

        return services;
    }

    /// <summary>Says once at start whether telemetry is exported and where (never the headers, which may hold a token).</summary>
    private sealed class TelemetryStartLog(TelemetrySettings settings, ILogger<TelemetryStartLog> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (settings.Enabled)
                Log.ExportOn(logger, settings.ServiceName, settings.Protocol, TelemetrySettings.Loggable(settings.TracesEndpoint),
                    TelemetrySettings.Loggable(settings.MetricsEndpoint));
            else
                Log.ExportOff(logger);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
