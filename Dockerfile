FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY billingcore billingcore
COPY webhooks webhooks
COPY notify notify
RUN pip install --no-cache-dir .
USER nobody
EXPOSE 8080
ENTRYPOINT ["notify"]
CMD ["serve"]
