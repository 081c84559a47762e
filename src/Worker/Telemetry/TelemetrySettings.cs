namespace Worker.Telemetry;

/// <summary>
/// The standard OpenTelemetry variables, read from configuration (environment variables, or any other source: the
/// integration tests set them in memory). The SDK reads them too; the worker reads them first to decide whether to
/// register anything at all, and to say at start where telemetry goes. Headers (OTEL_EXPORTER_OTLP_HEADERS, which may
/// hold a token) are left to the SDK and never read or logged here.
/// </summary>
/// <param name="TracesEndpoint">Where spans go: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT; null: no tracing.</param>
/// <param name="MetricsEndpoint">Where metrics go: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT; null: no metrics.</param>
/// <param name="MetricExportInterval">OTEL_METRIC_EXPORT_INTERVAL (milliseconds); null: the SDK's 60 s.</param>
public sealed record TelemetrySettings(Uri? TracesEndpoint, Uri? MetricsEndpoint, string Protocol, string ServiceName, TimeSpan? MetricExportInterval)
{
    public const string Endpoint = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string TracesEndpointKey = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
    public const string MetricsEndpointKey = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
    public const string ProtocolKey = "OTEL_EXPORTER_OTLP_PROTOCOL";
    public const string ServiceNameKey = "OTEL_SERVICE_NAME";
    public const string ResourceAttributesKey = "OTEL_RESOURCE_ATTRIBUTES";
    public const string MetricExportIntervalKey = "OTEL_METRIC_EXPORT_INTERVAL";
    public const string SdkDisabledKey = "OTEL_SDK_DISABLED";

    /// <summary>The service name when neither OTEL_SERVICE_NAME nor service.name in OTEL_RESOURCE_ATTRIBUTES gives one.</summary>
    public const string DefaultServiceName = "llm-worker";

    public const string Grpc = "grpc";
    public const string HttpProtobuf = "http/protobuf";

    public bool Tracing => TracesEndpoint is not null;

    public bool Metrics => MetricsEndpoint is not null;

    /// <summary>False: nothing is registered (no listener, no exporter), so telemetry costs nothing.</summary>
    public bool Enabled => Tracing || Metrics;

    /// <summary>Reads the settings; a malformed value throws a <see cref="ConfigurationException"/> naming its variable.</summary>
    public static TelemetrySettings From(IConfiguration configuration)
    {
        var protocol = Value(configuration, ProtocolKey) ?? Grpc;
        if (protocol is not (Grpc or HttpProtobuf))
            throw new ConfigurationException($"{ProtocolKey} must be '{Grpc}' or '{HttpProtobuf}', not '{protocol}'.");

        var serviceName = Value(configuration, ServiceNameKey) ?? ServiceNameIn(Value(configuration, ResourceAttributesKey)) ?? DefaultServiceName;
        TimeSpan? interval = null;
        if (Value(configuration, MetricExportIntervalKey) is { } text)
        {
            if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ms) || ms <= 0)
                throw new ConfigurationException($"{MetricExportIntervalKey} must be a whole number of milliseconds above 0, e.g. 60000, not '{text}'.");
            interval = TimeSpan.FromMilliseconds(ms);
        }

        if (string.Equals(Value(configuration, SdkDisabledKey), "true", StringComparison.OrdinalIgnoreCase))
            return new TelemetrySettings(null, null, protocol, serviceName, interval);

        var shared = Url(configuration, Endpoint);
        return new TelemetrySettings(Url(configuration, TracesEndpointKey) ?? shared, Url(configuration, MetricsEndpointKey) ?? shared, protocol,
            serviceName, interval);
    }

    /// <summary>An endpoint as it may be logged: scheme, host, port and path, never user info or a query.</summary>
    public static string Loggable(Uri? endpoint) =>
        endpoint is null ? "off" : endpoint.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);

    private static string? Value(IConfiguration configuration, string key) =>
        configuration[key] is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    private static Uri? Url(IConfiguration configuration, string key)
    {
        if (Value(configuration, key) is not { } text)
            return null;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            throw new ConfigurationException($"{key} must be an absolute http or https URL, e.g. http://localhost:4317 (gRPC) or http://localhost:4318 (http/protobuf); leave it empty to turn export off.");
        return url;
    }

    /// <summary>service.name from OTEL_RESOURCE_ATTRIBUTES (key1=value1,key2=value2), if given there.</summary>
    private static string? ServiceNameIn(string? attributes) =>
        attributes?.Split(',')
            .Select(pair => pair.Split('=', 2))
            .Where(kv => kv.Length == 2 && kv[0].Trim() == "service.name" && kv[1].Trim().Length > 0)
            .Select(kv => Uri.UnescapeDataString(kv[1].Trim()))
            .LastOrDefault();
}
