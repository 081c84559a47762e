using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Worker.Telemetry;

namespace Worker.Tests.Telemetry;

public class TelemetrySettingsTests
{
    private static IConfiguration Config(params (string Key, string? Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Fact]
    public void Without_an_endpoint_export_is_off()
    {
        var settings = TelemetrySettings.From(Config(("OTEL_EXPORTER_OTLP_ENDPOINT", "  "), ("OTEL_SERVICE_NAME", "x")));

        Assert.False(settings.Enabled);
        Assert.False(settings.Tracing);
        Assert.False(settings.Metrics);
    }

    [Fact]
    public void The_shared_endpoint_turns_on_traces_and_metrics_with_the_defaults()
    {
        var settings = TelemetrySettings.From(Config(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317")));

        Assert.True(settings.Enabled);
        Assert.Equal(new Uri("http://collector:4317"), settings.TracesEndpoint);
        Assert.Equal(new Uri("http://collector:4317"), settings.MetricsEndpoint);
        Assert.Equal("grpc", settings.Protocol);
        Assert.Equal("llm-worker", settings.ServiceName);
        Assert.Null(settings.MetricExportInterval);
    }

    [Fact]
    public void A_per_signal_endpoint_turns_on_only_its_signal_and_wins_over_the_shared_one()
    {
        var tracesOnly = TelemetrySettings.From(Config(("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://jaeger:4318/v1/traces")));
        var both = TelemetrySettings.From(Config(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4317"), ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://b:4317")));

        Assert.True(tracesOnly.Tracing);
        Assert.False(tracesOnly.Metrics);
        Assert.Equal(new Uri("http://a:4317"), both.TracesEndpoint);
        Assert.Equal(new Uri("http://b:4317"), both.MetricsEndpoint);
    }

    [Fact]
    public void Service_name_protocol_and_interval_come_from_the_standard_variables()
    {
        var settings = TelemetrySettings.From(Config(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_SERVICE_NAME", "sdr-worker"), ("OTEL_METRIC_EXPORT_INTERVAL", "5000")));
        var fromAttributes = TelemetrySettings.From(Config(("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,service.name=chat-worker")));

        Assert.Equal("http/protobuf", settings.Protocol);
        Assert.Equal("sdr-worker", settings.ServiceName);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.MetricExportInterval);
        Assert.Equal("chat-worker", fromAttributes.ServiceName);
    }

    [Fact]
    public void OTEL_SDK_DISABLED_turns_export_off_even_with_an_endpoint()
    {
        var settings = TelemetrySettings.From(Config(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"), ("OTEL_SDK_DISABLED", "true")));

        Assert.False(settings.Enabled);
    }

    [Theory]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317")]
    [InlineData("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://collector")]
    [InlineData("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]
    [InlineData("OTEL_METRIC_EXPORT_INTERVAL", "10s")]
    public void A_malformed_value_stops_the_start_naming_its_variable(string key, string value)
    {
        var e = Assert.Throws<ConfigurationException>(() => TelemetrySettings.From(Config((key, value))));

        Assert.StartsWith(key, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_endpoint_is_logged_without_user_info_or_query()
    {
        Assert.Equal("https://otlp.example:4318/v1/traces", TelemetrySettings.Loggable(new Uri("https://user:secret@otlp.example:4318/v1/traces?token=abc")));
        Assert.Equal("off", TelemetrySettings.Loggable(null));
    }

    [Fact]
    public void Off_registers_no_tracer_or_meter_provider()
    {
        using var host = Host(Config());

        Assert.Null(host.Services.GetService<TracerProvider>());
        Assert.Null(host.Services.GetService<MeterProvider>());
    }

    [Fact]
    public void On_registers_the_tracer_and_meter_providers()
    {
        using var host = Host(Config(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")));

        Assert.NotNull(host.Services.GetService<TracerProvider>());
        Assert.NotNull(host.Services.GetService<MeterProvider>());
    }

    private static IHost Host(IConfiguration configuration)
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddWorkerTelemetry(configuration);
        return builder.Build();
    }
}
