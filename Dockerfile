FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY detectors ./detectors
COPY dashboard ./dashboard
COPY scenario ./scenario
COPY examples ./examples
RUN pip install --no-cache-dir .
EXPOSE 8501 9108
CMD ["driftwarden", "--help"]
